//! Sessions' tentative transactions, and how the apply path ends them.
//!
//! An interactive transaction runs its statements tentatively in a DuckDB
//! transaction on the session's own connection to the catalog, so it reads
//! its own writes and sees constraint errors early; at COMMIT its statements
//! are proposed as one entry, and that DuckDB transaction is rolled back
//! (but see below).
//! Until then its uncommitted writes share the database with the apply
//! connection, and DuckDB refuses the second writer of a row or catalog
//! entry. The apply must never lose to a tentative transaction, so when it
//! hits such a conflict ([`ReplicaError::LocalConflict`]) the driver
//! *wounds* every tentative transaction of that catalog — rolls it back; its
//! session answers 40001 — and applies again.
//!
//! A transaction that only read and wrote rows is instead kept open from
//! its COMMIT until its entry is applied (*proposed*): if nothing was
//! applied in between, the driver commits it in place of running its writes
//! again ([`Replica::adopt`]); otherwise it rolls it back first, and the
//! entry applies as usual.
//!
//! [`ReplicaError::LocalConflict`]: duckraft_engine::replica::ReplicaError::LocalConflict

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};

use duckraft_engine::command::ProposalId;
use duckraft_engine::replica::{Committed, Outcome, Replica, ReplicaError};
use duckraft_pgwire::Interrupter;
use tracing::warn;

use crate::backend::LocalSession;

/// A session's connection, shared with the driver for wounding.
pub struct SharedSession {
    session: Mutex<LocalSession>,
    interrupt: Interrupter,
    /// The session's DuckDB transaction holds uncommitted writes.
    holds_writes: AtomicBool,
    /// The driver rolled the transaction back; the session must answer 40001.
    wounded: AtomicBool,
}

impl SharedSession {
    pub fn new(session: LocalSession) -> Arc<SharedSession> {
        let interrupt = duckraft_pgwire::Session::interrupter(&session);
        Arc::new(SharedSession {
            session: Mutex::new(session),
            interrupt,
            holds_writes: AtomicBool::new(false),
            wounded: AtomicBool::new(false),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, LocalSession> {
        // A panic in a statement leaves the session usable: DuckDB state is
        // the connection's, and the transaction bookkeeping is re-checked.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the session for a statement of its open transaction, or `None`
    /// if the driver rolled that transaction back. Checked under the lock,
    /// which the rollback holds: a statement run after an unnoticed rollback
    /// would run outside any transaction and commit to this node alone.
    pub fn lock_transaction(&self) -> Option<MutexGuard<'_, LocalSession>> {
        let session = self.lock();
        (!self.is_wounded() && session.engine.in_transaction()).then_some(session)
    }

    pub fn interrupter(&self) -> Interrupter {
        self.interrupt.clone()
    }

    /// Marks whether the open transaction holds uncommitted writes; call
    /// with the session locked, before a tentative write runs (a failing
    /// write can hold row locks too).
    pub fn set_holds_writes(&self, holds: bool) {
        self.holds_writes.store(holds, Ordering::SeqCst);
    }

    /// Whether the driver ended the transaction since `clear_wound`.
    pub fn is_wounded(&self) -> bool {
        self.wounded.load(Ordering::SeqCst)
    }

    /// A new transaction starts unwounded.
    pub fn clear_wound(&self) {
        self.wounded.store(false, Ordering::SeqCst);
    }

    /// Commits the session's proposed transaction as `entry` if the replica
    /// may ([`Replica::adopt`]); otherwise it is rolled back and `entry`
    /// must be applied as usual (`Ok(None)`).
    fn adopt(
        &self,
        replica: &mut Replica,
        entry: &Committed<'_>,
    ) -> Result<Option<Outcome>, ReplicaError> {
        let mut session = self.lock();
        let adopted = replica.adopt(entry, &mut session.engine);
        if !session.engine.in_transaction() {
            self.holds_writes.store(false, Ordering::SeqCst);
        }
        adopted
    }

    /// Rolls back the proposed transaction unless the apply took it.
    pub fn abandon_proposed(&self) {
        let mut session = self.lock();
        if session.engine.take_proposed().is_none() {
            return;
        }
        self.holds_writes.store(false, Ordering::SeqCst);
        if let Err(e) = duckraft_pgwire::Session::rollback(&mut *session) {
            warn!(error = %e.message, "rolling back a proposed transaction failed");
        }
    }

    /// Rolls back the session's transaction if it holds writes. Waits for a
    /// running statement, which it interrupts first.
    fn wound(&self) -> bool {
        if !self.holds_writes.load(Ordering::SeqCst) {
            return false;
        }
        self.wounded.store(true, Ordering::SeqCst);
        let mut session = match self.session.try_lock() {
            Ok(session) => session,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => {
                (self.interrupt)();
                self.lock()
            }
        };
        if !self.holds_writes.swap(false, Ordering::SeqCst) {
            return false; // it ended on its own meanwhile
        }
        if let Err(e) = duckraft_pgwire::Session::rollback(&mut *session) {
            warn!(error = %e.message, "rolling back a wounded transaction failed");
        }
        true
    }
}

/// What [`Replica::apply`] returns for the entries it applied.
type AppliedOutcomes = Vec<(u64, Option<ProposalId>, Outcome)>;

/// Every session connection per catalog, for the driver.
#[derive(Default)]
pub struct Tentatives {
    by_catalog: Mutex<BTreeMap<String, Vec<Weak<SharedSession>>>>,
    /// Sessions whose proposed transaction awaits its entry, by proposal.
    proposed: Mutex<BTreeMap<ProposalId, Weak<SharedSession>>>,
}

impl Tentatives {
    pub fn register(&self, catalog: &str, session: &Arc<SharedSession>) {
        let mut map = self.by_catalog.lock().expect("tentatives lock");
        let list = map.entry(catalog.to_string()).or_default();
        list.retain(|s| s.strong_count() > 0);
        list.push(Arc::downgrade(session));
    }

    /// Offers the session's transaction, proposed as `id`, to the apply.
    pub fn register_proposed(&self, id: ProposalId, session: &Arc<SharedSession>) {
        let mut proposed = self.proposed.lock().expect("tentatives lock");
        proposed.insert(id, Arc::downgrade(session));
    }

    pub fn forget_proposed(&self, id: ProposalId) {
        self.proposed.lock().expect("tentatives lock").remove(&id);
    }

    /// Applies the entries of `replica` that sessions' proposed
    /// transactions hold: adopts them while each is the next to apply and
    /// may be adopted; rolls back every other one, whose entry `apply`
    /// then runs. Returns how many leading entries are done, and their
    /// outcomes as `apply` reports them (or the error that poisoned the
    /// replica).
    pub fn adopt_proposed(
        &self,
        replica: &mut Replica,
        entries: &[Committed<'_>],
    ) -> (usize, Result<AppliedOutcomes, ReplicaError>) {
        let mut done = Vec::new();
        if self.proposed.lock().expect("tentatives lock").is_empty() {
            return (0, Ok(done));
        }
        let take = |entry: &Committed<'_>| {
            let id = duckraft_engine::command::decode(entry.data).ok()?.id?;
            let session = self.proposed.lock().expect("tentatives lock").remove(&id)?;
            Some((id, session.upgrade()?))
        };
        let mut first = 0;
        while let Some(entry) = entries.get(first) {
            if entry.index <= replica.applied_index() {
                first += 1; // delivered again; `apply` skips it
                continue;
            }
            let Some((id, session)) = take(entry) else {
                break;
            };
            match session.adopt(replica, entry) {
                Ok(Some(outcome)) => {
                    done.push((entry.index, Some(id), outcome));
                    first += 1;
                }
                Ok(None) => break,
                Err(error) => return (first, Err(error)),
            }
        }
        // Nothing after an entry that is applied again can be adopted, as
        // its session read an older state.
        for entry in &entries[first..] {
            if let Some((_, session)) = take(entry) {
                session.abandon_proposed();
            }
        }
        (first, Ok(done))
    }

    /// Wounds every tentative transaction with writes on `catalog`; returns
    /// how many it rolled back.
    pub fn wound_all(&self, catalog: &str) -> usize {
        let sessions: Vec<Arc<SharedSession>> = self
            .by_catalog
            .lock()
            .expect("tentatives lock")
            .get(catalog)
            .map(|list| list.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default();
        sessions.iter().filter(|s| s.wound()).count()
    }
}
