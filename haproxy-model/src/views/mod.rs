//! Typed views over the lossless document.
//!
//! Readers borrow a [`Section`](crate::Section) or a [`Line`](crate::Line) and decode words on
//! demand; editors borrow them mutably and change only the words they touch (through
//! [`Line::set_value`](crate::Line::set_value), `insert_word`, `remove_word`), so everything else
//! on the line — blanks, quoting, comments — stays as written. New lines go through
//! [`Section::insert_line`](crate::Section::insert_line) and take their siblings' indentation.
//!
//! Whatever a view does not model stays a plain [`Line`](crate::Line): nothing is dropped.
//!
//! `listen` sections have both sides: [`Document::backends`](crate::Document::backends) and
//! [`Document::frontends`](crate::Document::frontends) both include them, while
//! [`Document::listens`](crate::Document::listens) returns only them.

/// `PartialEq`, `Eq` and `Hash` over the listed fields only: positions (word or line indexes)
/// say where something is, not what it is, and stay out of equality.
macro_rules! eq_without_position {
    ($type:ty, $($field:ident),+) => {
        impl PartialEq for $type {
            fn eq(&self, other: &Self) -> bool {
                $(self.$field == other.$field)&&+
            }
        }

        impl Eq for $type {}

        impl std::hash::Hash for $type {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                $(self.$field.hash(state);)+
            }
        }
    };
}

mod acl;
mod bind;
mod directive;
mod document;
mod edit_error;
mod global;
mod log;
mod params;
mod peers;
mod proxy;
mod proxy_edit;
mod resolvers;
mod rule;
mod server;
mod side;
mod stick;
mod userlist;

pub use acl::{Acl, AclFlag, AclMut};
pub use bind::{Bind, BindMut};
pub use edit_error::{
    atol_weight, check_bind_address, check_name, check_server_address, check_server_params, check_values, check_weight, invalid_char, EditError, MAX_WEIGHT,
};
pub use global::Global;
pub use log::LogTarget;
pub use params::Param;
pub use peers::{Peer, Peers};
pub use proxy::{Balance, HashType, OptionSetting, Proxy, Timeout};
pub use proxy_edit::ProxyMut;
pub use resolvers::{Nameserver, Resolvers};
pub use rule::{Rule, RuleMut, RULE_KEYWORDS};
pub use server::{Server, ServerKind, ServerMut};
pub use side::Side;
pub use stick::StickTable;
pub use userlist::{Group, Password, User, Userlist};
