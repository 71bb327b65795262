use std::time::Instant;
fn main() {
    let f = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(f).unwrap();
    let docs: Vec<&str> = text.split("\n---\n").collect();
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let mut n = 0;
        for d in &docs {
            n += synroute::load::Shape::of(d).len();
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        total = n;
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "docs {} shape bytes {} median {:.1} ms min {:.1}",
        docs.len(),
        total,
        times[3],
        times[0]
    );
}
