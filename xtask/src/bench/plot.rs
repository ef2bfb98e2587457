//! A small SVG writer for the one chart the benchmark report has: a few
//! step lines (Ready Users over time), axes with round ticks, a legend.
//!
//! Hand-written rather than `plotters`: this is one fixed chart of polylines
//! and text, about a hundred lines, whereas plotters (even with only its SVG
//! backend) adds several crates to xtask, which the project keeps to few
//! dependencies so that `cargo xtask` builds fast. The output is plain SVG
//! 1.1 that browsers and GitHub render, deterministic for given input.

use std::fmt::Write as _;

/// One line of the chart: points `(x, y)` in increasing `x`.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
/// Colour-blind-safe colours (Okabe–Ito), one per series in order.
const COLOURS: [&str; 6] = [
    "#000000", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00",
];

/// A step chart: each series holds its `y` until its next point.
pub(crate) fn step_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let x_max = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(0.0, f64::max),
    );
    let y_max = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let sx = |x: f64| LEFT + x / x_max * plot_w;
    let sy = |y: f64| TOP + plot_h - y / y_max * plot_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        LEFT + plot_w / 2.0,
        escape(title)
    );
    // Grid and ticks: five steps on each axis.
    for i in 0..=5 {
        let fx = x_max * f64::from(i) / 5.0;
        let fy = y_max * f64::from(i) / 5.0;
        let (x, y) = (sx(fx), sy(fy));
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0,
            tick(fx)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            tick(fy)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 18.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(y_label)
    );
    for (i, series) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut path = format!("M{:.1},{:.1}", sx(0.0), sy(0.0));
        let mut last_y = 0.0;
        for &(x, y) in &series.points {
            let _ = write!(
                path,
                " L{:.1},{:.1} L{:.1},{:.1}",
                sx(x),
                sy(last_y),
                sx(x),
                sy(y)
            );
            last_y = y;
        }
        let _ = writeln!(
            s,
            r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>"#
        );
        let ly = TOP + 10.0 + 22.0 * i as f64;
        let lx = LEFT + plot_w + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(&series.name)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `v`
/// (1 for nothing to show), so that ticks fall on round numbers.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|c| *c >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

fn tick(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let t = format!("{v:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(7.3), 10.0);
        assert_eq!(nice_ceiling(1.5), 2.0);
        assert_eq!(nice_ceiling(200.0), 200.0);
        assert_eq!(nice_ceiling(0.34), 0.5);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(tick(0.4), "0.4");
        assert_eq!(tick(40.0), "40");
    }

    #[test]
    fn chart_has_a_step_path_and_legend_entry_per_series() {
        let svg = step_chart(
            "a <title>",
            "s",
            "n",
            &[
                Series {
                    name: "limit".into(),
                    points: vec![(1.0, 1.0), (2.0, 2.0)],
                },
                Series {
                    name: "ours".into(),
                    points: vec![(4.0, 2.0)],
                },
            ],
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path ").count(), 2);
        assert!(svg.contains(">limit</text>") && svg.contains(">ours</text>"));
        assert!(svg.contains("a &lt;title&gt;"));
        // x axis to 5 s, y axis to 2 Users on a 520×340 plot: the limit's first
        // step rises at x = 70 + 1/5·520 = 174 from y = 380 to 380 − 1/2·340 = 210.
        assert!(
            svg.contains("M70.0,380.0 L174.0,380.0 L174.0,210.0"),
            "{svg}"
        );
    }
}
