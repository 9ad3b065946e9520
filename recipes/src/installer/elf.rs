//! What Linux packages read from and do to an ELF binary: the shared libraries and symbol
//! versions it needs (a package's dependencies), and stripping it as distributions ship
//! binaries. Both work on any target's binary on any host (object's ELF reader and builder).

use object::read::elf::{Dyn, FileHeader, SectionTable};
use object::Endianness;

/// What a dynamically linked binary needs at run time; all empty for a static one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ElfNeeds {
    /// A 64-bit ELF file (RPM's dependency names say so).
    pub bits64: bool,
    /// `DT_NEEDED` sonames, in the file's order.
    pub libraries: Vec<String>,
    /// `(soname, version)` of every symbol version it needs (`libc.so.6`, `GLIBC_2.34`).
    pub versions: Vec<(String, String)>,
}

pub fn needs(bytes: &[u8]) -> Result<ElfNeeds, String> {
    match object::FileKind::parse(bytes).map_err(|e| e.to_string())? {
        object::FileKind::Elf64 => of::<object::elf::FileHeader64<Endianness>>(bytes, true),
        object::FileKind::Elf32 => of::<object::elf::FileHeader32<Endianness>>(bytes, false),
        other => Err(format!("not an ELF file ({other:?})")),
    }
}

fn of<Elf: FileHeader<Endian = Endianness>>(
    bytes: &[u8],
    bits64: bool,
) -> Result<ElfNeeds, String> {
    let err = |e: object::read::Error| e.to_string();
    let header = Elf::parse(bytes).map_err(err)?;
    let endian = header.endian().map_err(err)?;
    let sections = header.sections(endian, bytes).map_err(err)?;
    let mut out = ElfNeeds {
        bits64,
        ..ElfNeeds::default()
    };
    let Some((dynamic, link)) = sections.dynamic(endian, bytes).map_err(err)? else {
        return Ok(out);
    };
    let strings = sections.strings(endian, bytes, link).map_err(err)?;
    for d in dynamic {
        if d.tag32(endian) == Some(object::elf::DT_NEEDED) {
            let lib = d.string(endian, strings).map_err(err)?;
            out.libraries
                .push(String::from_utf8_lossy(lib).into_owned());
        }
    }
    out.versions = versions(&sections, endian, bytes)?;
    Ok(out)
}

/// Every `(file, version)` of the binary's `SHT_GNU_VERNEED` section.
fn versions<Elf: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<Elf>,
    endian: Endianness,
    bytes: &[u8],
) -> Result<Vec<(String, String)>, String> {
    let err = |e: object::read::Error| e.to_string();
    let Some((mut needs, link)) = sections.gnu_verneed(endian, bytes).map_err(err)? else {
        return Ok(Vec::new());
    };
    let strings = sections.strings(endian, bytes, link).map_err(err)?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = Vec::new();
    while let Some((need, mut aux)) = needs.next().map_err(err)? {
        let file = text(need.file(endian, strings).map_err(err)?);
        while let Some(a) = aux.next().map_err(err)? {
            out.push((file.clone(), text(a.name(endian, strings).map_err(err)?)));
        }
    }
    Ok(out)
}

/// The binary without its symbol table and debug sections, as distributions ship binaries
/// (Debian policy 10.1, Fedora's packaging guidelines).
pub fn strip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut b = object::build::elf::Builder::read(bytes).map_err(|e| e.to_string())?;
    for s in b.sections.iter_mut() {
        let name = s.name.as_slice();
        if name == b".symtab" || name == b".strtab" || name.starts_with(b".debug") {
            s.delete = true;
        }
    }
    for sym in b.symbols.iter_mut() {
        sym.delete = true;
    }
    let mut out = Vec::new();
    b.write(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}
