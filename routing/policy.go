package routing

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/policy-longest-waiting.lua
	longestWaitingLua string
	//go:embed lua/policy-round-robin.lua
	roundRobinLua string
)

// Policy decides which of the advisors eligible for a conversation gets it.
// It runs inside the assignment script, where the choice and the
// assignment are one atomic step, so a policy is a Lua function
// better(a, b) and can only be added in this package: a file
// lua/policy-NAME.lua, a variable below and an entry in policies.
// Which conversation goes first is the same for every policy (see
// lua/assign.lua).
type Policy interface {
	// Name is how configuration names the policy.
	Name() string
	assignScript() *redis.Script
}

type luaPolicy struct {
	name   string
	script *redis.Script
}

func (p *luaPolicy) Name() string                { return p.name }
func (p *luaPolicy) assignScript() *redis.Script { return p.script }
func (p *luaPolicy) String() string              { return p.name }

func newPolicy(name, better string) *luaPolicy {
	return &luaPolicy{name: name, script: redis.NewScript(libLua + "\n" + better + "\n" + assignLua)}
}

var (
	// longestWaiting gives a conversation to the advisor with the lowest
	// load ratio, ties to the one idle longest, then by name.
	longestWaiting = newPolicy("longest-waiting", longestWaitingLua)
	// roundRobin gives a conversation to the advisor whose last
	// assignment came longest ago, whatever their load (never over
	// capacity), ties by name.
	roundRobin = newPolicy("round-robin", roundRobinLua)

	policies = []Policy{longestWaiting, roundRobin}
)

// DefaultPolicy is the policy of a Config without one: longest-waiting.
func DefaultPolicy() Policy { return longestWaiting }

// PolicyNames lists the policies ParsePolicy knows.
func PolicyNames() []string {
	names := make([]string, len(policies))
	for i, p := range policies {
		names[i] = p.Name()
	}
	return names
}

// ParsePolicy returns the policy of that name.
func ParsePolicy(name string) (Policy, error) {
	for _, p := range policies {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("unknown routing policy %q (known: %s)", name, strings.Join(PolicyNames(), ", "))
}
