//! The built-in roles the policy is written for, and sets of them.

use std::fmt;

/// A role the policy names. A firm's own roles act as one of these, minus what they deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    Admin,
    Partner,
    Lawyer,
    Trainee,
    Staff,
    Marketing,
    Dpo,
    Integration,
}

/// Which rows of client work a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowScope {
    /// Every matter, communication, deadline and contact of the firm.
    Firm,
    /// The matters whose team the user is on (or leads), and what belongs to them.
    OwnMatters,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 8] = [
        BuiltinRole::Admin,
        BuiltinRole::Partner,
        BuiltinRole::Lawyer,
        BuiltinRole::Trainee,
        BuiltinRole::Staff,
        BuiltinRole::Marketing,
        BuiltinRole::Dpo,
        BuiltinRole::Integration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::Partner => "partner",
            BuiltinRole::Lawyer => "lawyer",
            BuiltinRole::Trainee => "trainee",
            BuiltinRole::Staff => "staff",
            BuiltinRole::Marketing => "marketing",
            BuiltinRole::Dpo => "dpo",
            BuiltinRole::Integration => "integration",
        }
    }

    pub fn parse(name: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.as_str() == name)
    }

    pub fn row_scope(self) -> RowScope {
        match self {
            BuiltinRole::Lawyer | BuiltinRole::Trainee => RowScope::OwnMatters,
            _ => RowScope::Firm,
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for BuiltinRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles, plus "public" for the few fields an anonymous caller may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleSet(u16);

const PUBLIC_BIT: u16 = 1 << 8;

impl RoleSet {
    pub const NONE: RoleSet = RoleSet(0);
    pub const PUBLIC: RoleSet = RoleSet(PUBLIC_BIT);

    pub const fn of(roles: &[BuiltinRole]) -> RoleSet {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= roles[i].bit();
            i += 1;
        }
        RoleSet(bits)
    }

    pub const fn with(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 | other.0)
    }

    pub const fn intersect(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 & other.0)
    }

    pub const fn contains(self, role: BuiltinRole) -> bool {
        self.0 & role.bit() != 0
    }

    pub const fn allows_public(self) -> bool {
        self.0 & PUBLIC_BIT != 0
    }

    pub const fn includes(self, other: RoleSet) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn roles(self) -> impl Iterator<Item = BuiltinRole> {
        BuiltinRole::ALL
            .into_iter()
            .filter(move |r| self.contains(*r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(BuiltinRole::parse("root"), None);
    }

    #[test]
    fn sets_hold_what_they_are_built_from() {
        let set = RoleSet::of(&[BuiltinRole::Partner, BuiltinRole::Dpo]);
        assert!(set.contains(BuiltinRole::Partner) && set.contains(BuiltinRole::Dpo));
        assert!(!set.contains(BuiltinRole::Admin) && !set.allows_public());
        assert_eq!(set.roles().count(), 2);
        assert!(set.with(RoleSet::PUBLIC).allows_public());
        assert!(set.includes(RoleSet::of(&[BuiltinRole::Dpo])));
        assert!(!set.includes(RoleSet::of(&[BuiltinRole::Lawyer])));
    }
}
