package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

type admitPoint struct {
	n, advisors int
	secs        float64
}

// startCost is what one start cost, averaged over a step of starts, with
// queue visitors waiting after the step.
type startCost struct {
	queue    int
	commands float64
	cpuMs    float64
}

type plotData struct {
	admission     []admitPoint
	baseAdmission []admitPoint
	starts        []startCost
}

// series is one line of a panel.
type series struct {
	name   string
	color  string
	points [][2]float64
}

// panel draws one chart at (x0, y0) of w × h: x and y from zero, with
// ticks at round values.
func panel(b *strings.Builder, x0, y0, w, h float64, title, xLabel, yLabel string, ss []series) {
	maxX, maxY := 0.0, 0.0
	for _, s := range ss {
		for _, p := range s.points {
			maxX, maxY = math.Max(maxX, p[0]), math.Max(maxY, p[1])
		}
	}
	maxX, maxY = nice(maxX), nice(maxY)
	px := func(x float64) float64 { return x0 + x/maxX*w }
	py := func(y float64) float64 { return y0 + h - y/maxY*h }
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="14" font-weight="bold">%s</text>`+"\n", x0, y0-12, title)
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", x0, y0, w, h)
	for i := 0; i <= 4; i++ {
		xv, yv := maxX*float64(i)/4, maxY*float64(i)/4
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`+"\n", px(xv), y0+h+14, short(xv))
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end">%s</text>`+"\n", x0-4, py(yv)+4, short(yv))
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#eee"/>`+"\n", x0, py(yv), x0+w, py(yv))
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="middle">%s</text>`+"\n", x0+w/2, y0+h+32, xLabel)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="middle" transform="rotate(-90 %.0f %.0f)">%s</text>`+"\n", x0-44, y0+h/2, x0-44, y0+h/2, yLabel)
	for i, s := range ss {
		pts := slices.Clone(s.points)
		slices.SortFunc(pts, func(a, b [2]float64) int { return int(math.Copysign(1, a[0]-b[0])) })
		var path []string
		for _, p := range pts {
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p[0]), py(p[1]), s.color)
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(path, " "), s.color)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="11" fill="%s">%s</text>`+"\n", x0+8, y0+16+14*float64(i), s.color, s.name)
	}
}

// nice rounds up to 1, 2 or 5 times a power of ten.
func nice(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func short(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

var colors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}

func (d plotData) svg() string {
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="960" height="400" font-family="sans-serif">` + "\n")
	b.WriteString(`<rect width="960" height="400" fill="white"/>` + "\n")
	var adm []series
	byA := map[int][][2]float64{}
	var as []int
	for _, p := range d.admission {
		if _, ok := byA[p.advisors]; !ok {
			as = append(as, p.advisors)
		}
		byA[p.advisors] = append(byA[p.advisors], [2]float64{float64(p.n), p.secs})
	}
	for i, a := range as {
		adm = append(adm, series{name: fmt.Sprintf("advicechat, %d advisors", a), color: colors[i%len(colors)], points: byA[a]})
	}
	var base [][2]float64
	for _, p := range d.baseAdmission {
		base = append(base, [2]float64{float64(p.n), p.secs})
	}
	adm = append(adm, series{name: "bare relay (connect and join)", color: "#555", points: base})
	panel(&b, 70, 40, 360, 300, "Admission: visitors starting at once", "visitors starting at once", "seconds until all joined", adm)
	var cmds, cpu [][2]float64
	for _, s := range d.starts {
		cmds = append(cmds, [2]float64{float64(s.queue), s.commands})
		cpu = append(cpu, [2]float64{float64(s.queue), s.cpuMs * 10})
	}
	panel(&b, 560, 40, 360, 300, "Cost of one start (a routing change)", "visitors waiting", "per start", []series{
		{name: "Redis commands", color: colors[0], points: cmds},
		{name: "server + Redis CPU, ×0.1 ms", color: colors[1], points: cpu},
	})
	b.WriteString("</svg>\n")
	return b.String()
}
