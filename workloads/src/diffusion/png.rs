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

/// Write `image` to `path` as PNG.
pub fn save(image: &Image, path: &Path) -> Result<(), Error> {
    let bytes = encode(image)?;
    std::fs::write(path, bytes).map_err(|e| Error::ModelFile {
        path: path.to_path_buf(),
        reason: format!("cannot write the image: {e}"),
    })
}
