//! Images to PNG files, so a run can be checked by eye.

use std::path::Path;

use super::Image;
use crate::Error;

/// Encode `image` as an 8-bit RGB PNG.
pub fn encode(image: &Image) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| Error::Request(format!("cannot encode the PNG: {e}"));
    {
        let mut encoder = png::Encoder::new(&mut out, image.width as u32, image.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(&image.rgb).map_err(fail)?;
    }
    Ok(out)
}

/// Decode a PNG (RGB or RGBA, 8 or 16 bits, palette expanded) into RGB.
pub fn decode(bytes: &[u8]) -> Result<Image, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
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
