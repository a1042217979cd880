-- Policy round-robin: the advisor whose last assignment came longest ago
-- (never assigned first), whatever their load; ties by name. Assignments
-- are ordered by a counter in Redis, not by clock, so neither skew between
-- instances nor two assignments in one millisecond can upset the rotation.
local function better(a, b)
  if a.seq ~= b.seq then return a.seq < b.seq end
  return a.name < b.name
end
