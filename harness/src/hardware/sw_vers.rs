//! macOS `sw_vers`: the product version and build (`ProductVersion: 15.1`,
//! `BuildVersion: 24B83`, each key followed by tabs), read where sysctl's
//! `kern.osproductversion` and `kern.osversion` gave nothing.

/// What sw_vers said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwVers {
    /// `ProductVersion` (`15.1`).
    pub product_version: Option<String>,
    /// `BuildVersion` (`24B83`).
    pub build_version: Option<String>,
}

/// Read `Key:<tabs>value` lines; other lines and empty values are skipped.
pub fn parse(text: &str) -> SwVers {
    let mut out = SwVers::default();
    for (key, value) in super::sysctl::fields(text) {
        match key {
            "ProductVersion" => out.product_version = Some(value.to_string()),
            "BuildVersion" => out.build_version = Some(value.to_string()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_output() {
        let s = parse(include_str!(
            "../../tests/fixtures/hw/sw_vers_documented.txt"
        ));
        assert_eq!(s.product_version.as_deref(), Some("26.2"));
        assert_eq!(s.build_version.as_deref(), Some("25C56"));
        assert_eq!(parse("garbage\nBuildVersion:\n"), SwVers::default());
    }
}
