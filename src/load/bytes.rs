//! Byte searches shared by the readers (the splitter, the fast reader,
//! the locator): a pair of ASCII bytes, either of two bytes eight at a
//! time, a newline. They know nothing of YAML.

/// Where the two ASCII bytes `pair` first stand side by side in `s`, as
/// `s.find` of them would say: the bytes are scanned for `pair[anchor]`
/// (the rarer one) and its neighbour is looked at. `str::find` with a
/// string pattern sets up a general searcher on every call, and with a
/// `char` it validates as it goes; on the 50k-app corpus this reader took
/// 296 ms with them and takes 213 ms without (one core, every document).
pub(crate) fn find_pair(s: &str, pair: [u8; 2], anchor: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let needle = *pair.get(anchor)?;
    let mut from = 0;
    loop {
        let at = from + bytes.get(from..)?.iter().position(|&b| b == needle)?;
        if let Some(start) = at.checked_sub(anchor)
            && bytes.get(start..start + 2) == Some(&pair[..])
        {
            return Some(start);
        }
        from = at + 1;
    }
}

/// The first index at or after `from` of a byte equal to `a` or `b`.
/// Eight bytes are tested at once (as a `u64`: a byte equal to the one
/// sought becomes zero, and `(x - 0x01..01) & !x & 0x80..80` marks zero
/// bytes; the lowest mark is always a true one): base64 lines of Secrets
/// and long values are crossed without a look at every byte.
pub(crate) fn find_either(hay: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let (wa, wb) = (ONES * u64::from(a), ONES * u64::from(b));
    let mut i = from;
    while let Some(chunk) = hay.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let found = zeros(w ^ wa) | zeros(w ^ wb);
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = hay.get(i..)?;
    rest.iter().position(|&c| c == a || c == b).map(|p| i + p)
}

/// The first newline at or after `from` (`find_either` for one byte).
pub(crate) fn find_newline(hay: &[u8], from: usize) -> Option<usize> {
    find_either(hay, from, b'\n', b'\n')
}
