//! Functions: the built-ins of LANGUAGE.md §5 and embedder-registered ones.
//!
//! Typing of calls lives in the checker (`check.rs`); what each function does
//! lives in [`eval`], shared by the VM and the reference evaluator.

pub mod eval;

use crate::types::Type;
use crate::types::Val;
use std::fmt;
use std::sync::Arc;

macro_rules! builtins {
    ($($variant:ident => $name:literal,)*) => {
        /// A built-in function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Builtin {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Builtin {
            /// Every built-in, in declaration order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$variant,)*];

            /// The function's name in expressions.
            pub fn name(self) -> &'static str {
                match self { $(Builtin::$variant => $name,)* }
            }

            /// The built-in called `name`.
            pub fn from_name(name: &str) -> Option<Builtin> {
                match name { $($name => Some(Builtin::$variant),)* _ => None }
            }
        }
    };
}

builtins! {
    Any => "any",
    All => "all",
    Lower => "lower",
    Upper => "upper",
    Len => "len",
    StartsWith => "starts_with",
    EndsWith => "ends_with",
    Concat => "concat",
    Substring => "substring",
    UrlDecode => "url_decode",
    ToString => "to_string",
    LookupJsonString => "lookup_json_string",
    LookupJsonInteger => "lookup_json_integer",
    HasKey => "has_key",
    HasValue => "has_value",
    Split => "split",
    Join => "join",
    RemoveBytes => "remove_bytes",
    RegexReplace => "regex_replace",
    WildcardReplace => "wildcard_replace",
    Cidr => "cidr",
    Cidr6 => "cidr6",
    DecodeBase64 => "decode_base64",
    EncodeBase64 => "encode_base64",
    Coalesce => "coalesce",
    Sha256 => "sha256",
    RemoveQueryArgs => "remove_query_args",
    IsTimedHmacValidV0 => "is_timed_hmac_valid_v0",
}

/// The implementation of a user function: arguments in, result out. It is
/// called only when no argument is missing (a missing argument makes the
/// call's result missing without calling it).
pub type UserImpl = dyn for<'a> Fn(&[Val<'a>]) -> Val<'a> + Send + Sync;

/// A function registered by the embedder, checked and run like a built-in.
///
/// ```
/// use portcullis::UserFunction;
/// use portcullis::{Compiler, Context, Schema, Type, Val, Value};
///
/// let is_internal = UserFunction::new("is_internal", vec![Type::Ip], Type::Bool, |args| match args {
///     [Val::Ip(std::net::IpAddr::V4(v4))] => Val::Bool(v4.is_private()),
///     _ => Val::Bool(false),
/// });
/// let schema = Schema::builder().field("ip.src", Type::Ip).function(is_internal).build()?;
/// let filter = Compiler::new(&schema).compile("not is_internal(ip.src)")?;
///
/// let mut request = Context::new(&schema);
/// request.set("ip.src", Value::Ip("10.0.0.7".parse().unwrap()))?;
/// assert!(!filter.matches(&request));
/// // A wrong argument type is a check error, as for a built-in.
/// assert!(Compiler::new(&schema).compile("is_internal(1)").is_err());
/// # Ok::<(), portcullis::Error>(())
/// ```
#[derive(Clone)]
pub struct UserFunction {
    /// Name used in expressions (`[a-z0-9_]`).
    pub name: String,
    /// Parameter types, in order.
    pub params: Vec<Type>,
    /// How many trailing parameters may be left out.
    pub optional: usize,
    /// The result type.
    pub returns: Type,
    /// What it does.
    pub implementation: Arc<UserImpl>,
}

impl UserFunction {
    /// A function `name(params...) -> returns` implemented by `f`.
    pub fn new(
        name: &str,
        params: Vec<Type>,
        returns: Type,
        f: impl for<'a> Fn(&[Val<'a>]) -> Val<'a> + Send + Sync + 'static,
    ) -> Self {
        UserFunction {
            name: name.to_string(),
            params,
            optional: 0,
            returns,
            implementation: Arc::new(f),
        }
    }

    /// Makes the last `n` parameters optional.
    pub fn with_optional(mut self, n: usize) -> Self {
        self.optional = n.min(self.params.len());
        self
    }
}

impl fmt::Debug for UserFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserFunction")
            .field("name", &self.name)
            .field("params", &self.params)
            .field("optional", &self.optional)
            .field("returns", &self.returns)
            .finish_non_exhaustive()
    }
}

/// Which function a call invokes.
#[derive(Debug, Clone)]
pub enum Callee {
    /// A built-in.
    Builtin(Builtin),
    /// An embedder's function.
    User(Arc<UserFunction>),
}

impl Callee {
    /// The function's name.
    pub fn name(&self) -> &str {
        match self {
            Callee::Builtin(b) => b.name(),
            Callee::User(u) => &u.name,
        }
    }
}

impl PartialEq for Callee {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Callee::Builtin(a), Callee::Builtin(b)) => a == b,
            (Callee::User(a), Callee::User(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Builtin;

    #[test]
    fn every_built_in_name_parses_as_a_call() {
        for b in Builtin::ALL {
            let text = format!("{}(ssl)", b.name());
            assert!(crate::syntax::parse(&text).is_ok(), "{text}");
        }
    }
}
