//! The revocations held in memory, indexed the way a verification looks them up.

use std::collections::{BTreeSet, HashMap, HashSet};

use roomgate_token::Claims;
use uuid::Uuid;

use super::rule::{covers, Revocation, Selector};

/// Live revocations, bounded in number, with an index per selector and one by expiry.
#[derive(Debug)]
pub(crate) struct RevocationSet {
    entries: HashMap<Uuid, Revocation>,
    by_jti: HashMap<Uuid, Vec<Uuid>>,
    /// room → identity → revocation ids, so a lookup borrows the token's identity.
    by_identity: HashMap<Uuid, HashMap<String, Vec<Uuid>>>,
    /// room → its `issued_before` revocation ids.
    issued_before: HashMap<Uuid, Vec<Uuid>>,
    /// (expires_at, id), to drop expired entries oldest first.
    expiry: BTreeSet<(i64, Uuid)>,
    capacity: usize,
}

/// A page would take the set past its capacity; nothing was added.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Full;

impl RevocationSet {
    /// An empty set that holds at most `capacity` revocations.
    pub(crate) fn new(capacity: usize) -> Self {
        RevocationSet {
            entries: HashMap::new(),
            by_jti: HashMap::new(),
            by_identity: HashMap::new(),
            issued_before: HashMap::new(),
            expiry: BTreeSet::new(),
            capacity,
        }
    }

    /// How many revocations are held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drop what expired before `horizon`, then add the page's revocations that did not, all or none: a page
    /// that does not fit leaves the set as it was (dropping a live revocation would admit a revoked token).
    pub(crate) fn apply(&mut self, page: Vec<Revocation>, horizon: i64) -> Result<(), Full> {
        self.prune(horizon);
        let mut seen = HashSet::new();
        let fresh: Vec<Revocation> = page
            .into_iter()
            .filter(|r| r.expires_at >= horizon && !self.entries.contains_key(&r.id) && seen.insert(r.id))
            .collect();
        if self.entries.len() + fresh.len() > self.capacity {
            return Err(Full);
        }
        for r in fresh {
            self.insert(r);
        }
        Ok(())
    }

    /// Drop every revocation whose `expires_at` is before `horizon`.
    pub(crate) fn prune(&mut self, horizon: i64) {
        while let Some(&(expires_at, id)) = self.expiry.first() {
            if expires_at >= horizon {
                break;
            }
            self.expiry.pop_first();
            if let Some(r) = self.entries.remove(&id) {
                self.unindex(&r);
            }
        }
    }

    /// The id of a held revocation covering `claims`, if any.
    pub(crate) fn covering(&self, claims: &Claims) -> Option<Uuid> {
        if self.entries.is_empty() {
            return None;
        }
        let room = claims.room_id()?;
        let by_jti = claims.jti.parse::<Uuid>().ok().and_then(|j| self.by_jti.get(&j));
        let by_identity = self.by_identity.get(&room).and_then(|in_room| {
            // Only worth building the participant when the room has identity revocations at all.
            let identity = claims.participant()?.identity?;
            in_room.get(identity.as_str())
        });
        let by_time = self.issued_before.get(&room);
        [by_jti, by_identity, by_time]
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|id| self.entries.get(id))
            .find(|r| covers(r, claims))
            .map(|r| r.id)
    }

    fn insert(&mut self, r: Revocation) {
        let ids = match &r.selector {
            Selector::Jti(jti) => self.by_jti.entry(*jti).or_default(),
            Selector::Identity { identity, .. } => self
                .by_identity
                .entry(r.room_id)
                .or_default()
                .entry(identity.clone())
                .or_default(),
            Selector::IssuedBefore(_) => self.issued_before.entry(r.room_id).or_default(),
        };
        ids.push(r.id);
        self.expiry.insert((r.expires_at, r.id));
        self.entries.insert(r.id, r);
    }

    fn unindex(&mut self, r: &Revocation) {
        match &r.selector {
            Selector::Jti(jti) => remove_id(&mut self.by_jti, jti, r.id),
            Selector::Identity { identity, .. } => {
                if let Some(in_room) = self.by_identity.get_mut(&r.room_id) {
                    remove_id(in_room, identity.as_str(), r.id);
                    if in_room.is_empty() {
                        self.by_identity.remove(&r.room_id);
                    }
                }
            }
            Selector::IssuedBefore(_) => remove_id(&mut self.issued_before, &r.room_id, r.id),
        }
    }
}

/// Remove `id` from the list under `key`, and the list once empty.
fn remove_id<K, Q>(index: &mut HashMap<K, Vec<Uuid>>, key: &Q, id: Uuid)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(ids) = index.get_mut(key) {
        ids.retain(|x| *x != id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocations::testing::{claims, IAT, ROOM};

    fn token(identity: &str) -> Claims {
        claims(Some(identity))
    }

    fn revocation(n: u128, selector: Selector, expires_at: i64) -> Revocation {
        Revocation {
            id: Uuid::from_u128(n),
            room_id: ROOM,
            selector,
            expires_at,
        }
    }

    fn identity(name: &str) -> Selector {
        Selector::Identity {
            identity: name.into(),
            created_at: IAT + 1,
        }
    }

    #[test]
    fn each_index_finds_what_it_covers() {
        let (alice, bob, carol) = (token("alice"), token("bob"), token("carol"));
        let mut set = RevocationSet::new(10);
        assert_eq!(set.covering(&alice), None);
        let jti = bob.jti.parse().expect("uuid");
        let page = vec![
            revocation(1, identity("alice"), IAT + 600),
            revocation(2, Selector::Jti(jti), IAT + 600),
        ];
        set.apply(page, IAT).expect("fits");
        assert_eq!(set.len(), 2);
        assert_eq!(set.covering(&alice), Some(Uuid::from_u128(1)));
        assert_eq!(set.covering(&bob), Some(Uuid::from_u128(2)));
        assert_eq!(set.covering(&carol), None);
        // An identity entry not covering (issued after it) is looked at and passed over.
        let later = Claims {
            iat: IAT + 1,
            ..alice.clone()
        };
        assert_eq!(set.covering(&later), None);

        set.apply(
            vec![revocation(3, Selector::IssuedBefore(IAT + 1), IAT + 600)],
            IAT,
        )
        .expect("fits");
        assert_eq!(set.covering(&carol), Some(Uuid::from_u128(3)));
        assert_eq!(set.covering(&later), None);
    }

    #[test]
    fn expired_entries_are_dropped_with_their_indexes() {
        let alice = token("alice");
        let mut set = RevocationSet::new(10);
        let page = vec![
            revocation(1, identity("alice"), IAT + 100),
            revocation(2, Selector::IssuedBefore(IAT + 1), IAT + 200),
            // Already expired when it arrives: never held.
            revocation(3, identity("bob"), IAT - 1),
        ];
        set.apply(page, IAT).expect("fits");
        assert_eq!(set.len(), 2);
        set.prune(IAT + 100);
        assert_eq!(set.len(), 2, "kept through its expires_at second");
        set.prune(IAT + 101);
        assert_eq!(set.len(), 1);
        assert_eq!(set.covering(&alice), Some(Uuid::from_u128(2)));
        set.apply(Vec::new(), IAT + 201).expect("fits");
        assert_eq!(set.len(), 0);
        assert_eq!(set.covering(&alice), None);
        assert!(set.by_identity.is_empty() && set.issued_before.is_empty() && set.expiry.is_empty());
    }

    #[test]
    fn a_page_past_capacity_adds_nothing_and_repeats_are_not_counted() {
        let mut set = RevocationSet::new(2);
        let first = revocation(1, identity("alice"), IAT + 600);
        set.apply(vec![first.clone(), first.clone()], IAT)
            .expect("one entry");
        set.apply(
            vec![first.clone(), revocation(2, identity("bob"), IAT + 600)],
            IAT,
        )
        .expect("a repeat takes no room");
        assert_eq!(set.len(), 2);
        let over = vec![revocation(3, identity("carol"), IAT + 1000)];
        assert_eq!(set.apply(over.clone(), IAT), Err(Full));
        assert_eq!(set.len(), 2);
        assert_eq!(set.covering(&token("carol")), None);
        // Once something expires there is room again.
        set.apply(vec![revocation(4, identity("dave"), IAT + 10)], IAT - 100)
            .expect_err("still full");
        assert_eq!(set.apply(over, IAT + 601), Ok(()));
        assert_eq!(set.len(), 1);
        assert_eq!(set.covering(&token("carol")), Some(Uuid::from_u128(3)));
    }
}
