use bench_workloads::synth::*;
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let p = preset(&a[1])?;
    let o = SynthOptions {
        dtype: a[2].parse()?,
        seed: 0,
    };
    let r = synthesize(p, &o, std::path::Path::new(&a[3]))?;
    println!(
        "{} {}: params {} bytes {} ({:.2} GB) in {:.2}s",
        p.name,
        o.dtype,
        r.parameters,
        r.bytes_written,
        r.bytes_written as f64 / 1e9,
        r.seconds
    );
    Ok(())
}
