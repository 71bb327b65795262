//! The fast reader's tree as a serde `Deserializer`: typed objects and
//! `serde_yaml::Value`s straight from the borrowed nodes. A node whose
//! reading serde_yaml might decide otherwise (a plain scalar that may not
//! be a string where a string is asked for, a number in doubt) bails, so
//! the caller falls back to serde_yaml; it never errs on its own.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::scalar::{bool_of, decimal, is_null, maybe_not_string};
use std::borrow::Cow;

use super::{Bail, Node};

impl de::Error for Bail {
    fn custom<T: std::fmt::Display>(_: T) -> Bail {
        Bail
    }
}

impl<'de> de::Deserializer<'de> for &Node<'de, '_> {
    type Error = Bail;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            Node::Map(_) => self.deserialize_map(v),
            Node::Seq(_) => self.deserialize_seq(v),
            Node::Quoted(s) => v.visit_str(s),
            Node::Empty => v.visit_unit(),
            Node::Plain(s) => {
                if let Some(n) = decimal(s) {
                    v.visit_u64(n)
                } else if maybe_not_string(s) {
                    Err(Bail)
                } else {
                    v.visit_str(s)
                }
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            Node::Plain(s) => v.visit_bool(bool_of(s).ok_or(Bail)?),
            _ => Err(Bail),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_u64(v)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_u64(v)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_u64(v)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_u64(v)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_u64(v)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_u64(v)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_u64(v)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            Node::Plain(s) => v.visit_u64(decimal(s).ok_or(Bail)?),
            _ => Err(Bail),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_char<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            // serde_yaml reads any scalar as a string when one is asked for.
            Node::Plain(s) => v.visit_str(s),
            Node::Quoted(s) => v.visit_str(s),
            Node::Empty => v.visit_str(""),
            _ => Err(Bail),
        }
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_str(v)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Bail> {
        Err(Bail)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            Node::Empty => v.visit_none(),
            Node::Plain(s) if is_null(s) => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            Node::Empty => v.visit_unit(),
            Node::Plain(s) if is_null(s) => v.visit_unit(),
            _ => Err(Bail),
        }
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Bail> {
        self.deserialize_unit(v)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Bail> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            Node::Seq(items) => {
                let mut access = SeqAccess(items.iter());
                let value = v.visit_seq(&mut access)?;
                match access.0.next() {
                    None => Ok(value),
                    Some(_) => Err(Bail),
                }
            }
            _ => Err(Bail),
        }
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, Bail> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, Bail> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        match self {
            Node::Map(entries) => {
                let mut access = MapAccess {
                    entries: entries.iter(),
                    value: None,
                };
                let value = v.visit_map(&mut access)?;
                match access.entries.next() {
                    None => Ok(value),
                    Some(_) => Err(Bail),
                }
            }
            _ => Err(Bail),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Bail> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Bail> {
        match self {
            Node::Plain(s) => v.visit_enum(IntoDeserializer::<Bail>::into_deserializer(*s)),
            Node::Quoted(s) => {
                v.visit_enum(IntoDeserializer::<Bail>::into_deserializer(s.as_ref()))
            }
            _ => Err(Bail),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Bail> {
        v.visit_unit()
    }
}

struct SeqAccess<'a, 'de, 'b>(std::slice::Iter<'a, Node<'de, 'b>>);

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, 'de, '_> {
    type Error = Bail;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Bail> {
        match self.0.next() {
            Some(n) => seed.deserialize(n).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapAccess<'a, 'de, 'b> {
    entries: std::slice::Iter<'a, (Cow<'de, str>, Node<'de, 'b>)>,
    value: Option<&'a Node<'de, 'b>>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de, '_> {
    type Error = Bail;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Bail> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(IntoDeserializer::<Bail>::into_deserializer(k.as_ref()))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Bail> {
        match self.value.take() {
            Some(n) => seed.deserialize(n),
            None => Err(Bail),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
