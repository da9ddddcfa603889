//! Images to PNG files, so a run can be checked by eye.

use std::path::Path;

use super::Image;
use crate::Error;

/// Encode `image` as an 8-bit RGB PNG.
pub fn encode(image: &Image) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| Error::Engine(format!("cannot encode the PNG: {e}"));
    {
        let mut encoder = png::Encoder::new(&mut out, image.width as u32, image.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(&image.rgb).map_err(fail)?;
    }
    Ok(out)
}

/// The largest image [`decode`] reads, in pixels (8192²): far above any image bench makes, and
/// small enough that its buffer (256 MiB as RGBA) can be had. The size comes from the file's
/// header, so a damaged or hostile one would otherwise ask for terabytes and abort the process.
pub const MAX_PIXELS: u64 = 8192 * 8192;

/// Decode a PNG (RGB or RGBA, 8 or 16 bits, palette expanded) into RGB; at most
/// [`MAX_PIXELS`].
pub fn decode(bytes: &[u8]) -> Result<Image, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let (width, height) = reader.info().size();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "a {width}x{height} PNG, larger than bench reads ({MAX_PIXELS} pixels at most)"
        ));
    }
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("not a PNG: {e}"))?;
    let pixels = &buf[..frame.buffer_size()];
    let rgb = match frame.color_type {
        png::ColorType::Rgb => pixels.to_vec(),
        png::ColorType::Rgba => pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        other => return Err(format!("a {other:?} PNG; RGB or RGBA was expected")),
    };
    Ok(Image {
        width: frame.width as usize,
        height: frame.height as usize,
        rgb,
    })
}

/// Write `image` to `path` as PNG.
pub fn save(image: &Image, path: &Path) -> Result<(), Error> {
    let bytes = encode(image)?;
    std::fs::write(path, bytes).map_err(|e| Error::ModelFile {
        path: path.to_path_buf(),
        reason: format!("cannot write the image: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let image = Image {
            width: 2,
            height: 1,
            rgb: vec![255, 0, 0, 0, 255, 0],
        };
        let back = decode(&encode(&image).unwrap()).unwrap();
        assert_eq!((back.width, back.height, back.rgb), (2, 1, image.rgb));
    }

    #[test]
    fn a_header_claiming_a_huge_image_is_refused_before_allocating() {
        // A valid PNG (CRCs right) whose IHDR says 1000000x1000000 RGB, with one row of data:
        // decoding it used to ask for a 3 TB buffer, which aborts the process.
        const HUGE: &[u8] = b"\x89PNG\r\n\x1a\n\
            \x00\x00\x00\x0dIHDR\x00\x0f\x42\x40\x00\x0f\x42\x40\x08\x02\x00\x00\x00\xd3\x0f\xaf\x2a\
            \x00\x00\x00\x0cIDAT\x78\x9c\x63\x68\x68\x68\x00\x00\x03\x04\x01\x81\x4b\xd3\xd2\x10\
            \x00\x00\x00\x00IEND\xae\x42\x60\x82";
        let e = decode(HUGE).unwrap_err();
        assert!(e.contains("1000000x1000000"), "{e}");
    }
}
