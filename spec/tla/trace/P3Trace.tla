-------------------------------- MODULE P3Trace --------------------------------
(***************************************************************************)
(* Trace validation: is a simulator trace a behaviour of P3's durability  *)
(* scope, with P3's and P1's invariants holding after every event?         *)
(*                                                                         *)
(* `duckraft-sim --seed S --trace-out FILE` records, for one Raft group,   *)
(* what the simulator observes at the production core's seams            *)
(* (crates/sim/src/trace.rs). check-traces.sh turns the NDJSON into the    *)
(* constant module TraceData (TraceNodes, Trace) and runs TLC on this      *)
(* module. The behaviour is fixed by the trace: each state has at most one *)
(* successor, so TLC explores Len(Trace) + 1 states.                       *)
(*                                                                         *)
(* Each event is one step, mapped to a model action (docs/formal-models.md,*)
(* "Trace validation"):                                                    *)
(*   Append     P3 AppendBatch (leader) or Replicate (follower): the       *)
(*              in-memory log, as written to the WAL, not yet durable;     *)
(*   HardState  P1 SetHardState, volatile half: term, vote, commit written;*)
(*   Sync       P3 Fsync, P1 Persist: everything written becomes durable;  *)
(*   Crash      P3 CrashDurability, P1 Restart (first half): soft state    *)
(*              lost;                                                      *)
(*   Recover    P3 CrashDurability, P1 Restart (second half): the log and  *)
(*              HardState come back from the WAL;                          *)
(*   Role       P3 Elect (leader) or a step-down (P1 CheckQuorumStepDown,  *)
(*              a higher term): the role and term the node reports;        *)
(*   Apply      P1 Apply, P3 ApplyAtomic: committed entries handed to the  *)
(*              state machine;                                             *)
(*   Ack        P3 AckDurable / AckApplied: a client is answered.          *)
(*                                                                         *)
(* Two kinds of rejection:                                                 *)
(*   - no action matches the next event (an append with a gap, a sync of  *)
(*     a batch never written, a recovered log that is neither the durable  *)
(*     nor the written one, a term that goes back, a second vote in one   *)
(*     term, an apply that skips or repeats an index): TLC reports a      *)
(*     deadlock before the end of the trace, which the runner reports as  *)
(*     TraceMatched with the event's line;                                 *)
(*   - an invariant fails after an event: TLC names it.                    *)
(*                                                                         *)
(* Abstraction, stated honestly. This is a trace spec over P3's state,   *)
(* not a refinement mapping into P3GroupCommit's Next (whose elections    *)
(* are one step and whose followers receive the whole log at once):       *)
(*   - The state is P3's durability state at WAL-record granularity. P3    *)
(*     has a durable INDEX and truncates it at once on a conflicting      *)
(*     append; here the durable LOG is kept apart (dlog), because the WAL  *)
(*     keeps the superseded durable entries until the next sync, and a    *)
(*     crash in between brings them back. That is safe (they were never   *)
(*     committed, which CommittedDurableOnQuorum checks) but it is a step *)
(*     P3 cannot take, so the spec reads P3's durable[n] as Len(dlog[n]). *)
(*   - Entries are their terms; proposals are not told apart (an ack names *)
(*     the index and term of the entry that decided it).                   *)
(*   - Messages are not traced: commit is checked through its consequence  *)
(*     (every applied entry is durable on a quorum), not through the       *)
(*     leader's match indexes.                                             *)
(*   - Snapshots and log compaction have no action: a trace that holds one *)
(*     (a Compact event, or a recovered log not starting at index 1) is   *)
(*     rejected. The runner picks seeds without compaction.               *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC, TraceData

\* TraceData defines:
\*   TraceNodes  the node ids, 1..N
\*   Trace       the events, a sequence of records (see trace.rs)

Server == TraceNodes
Nil == 0
Leader == "Leader"
Follower == "Follower"
NoHardState == [term |-> 0, vote |-> Nil, commit |-> 0]

VARIABLES
    l,          \* the next event to match, 1..Len(Trace) + 1
    up,         \* [Server -> BOOLEAN]: the process runs
    log,        \* [Server -> Seq(term)]: the log as written (in memory)
    dlog,       \* [Server -> Seq(term)]: the log as fsynced (durable)
    hs,         \* [Server -> HardState]: as written
    dhs,        \* [Server -> HardState]: as fsynced (P1 hardTerm, hardVote)
    unsynced,   \* [Server -> Nat]: the WAL batch written, not synced (0:
                \* none; MultiRaft numbers batches from 1)
    role,       \* [Server -> {Leader, Follower}], soft
    term,       \* [Server -> Nat]: the term the node last reported, soft
    sm,         \* [Server -> Seq(term)]: entries applied, in DuckDB (durable)
    elected,    \* ghost: the set of <<term, node>> ever seen leading
    acked       \* ghost: the set of [node, index, term] acks

vars == <<l, up, log, dlog, hs, dhs, unsynced, role, term, sm, elected, acked>>

Init ==
    /\ l = 1
    /\ up = [n \in Server |-> TRUE]
    /\ log = [n \in Server |-> <<>>]
    /\ dlog = [n \in Server |-> <<>>]
    /\ hs = [n \in Server |-> NoHardState]
    /\ dhs = [n \in Server |-> NoHardState]
    /\ unsynced = [n \in Server |-> 0]
    /\ role = [n \in Server |-> Follower]
    /\ term = [n \in Server |-> 0]
    /\ sm = [n \in Server |-> <<>>]
    /\ elected = {}
    /\ acked = {}

Min(a, b) == IF a < b THEN a ELSE b

\* The entry (index k, term t) is durable on a quorum.
DurableOnQuorum(k, t) ==
    2 * Cardinality({v \in Server : Len(dlog[v]) >= k /\ dlog[v][k] = t})
        > Cardinality(Server)

\* Event e is written into batch e.batch of node n: a batch is written
\* whole before its sync, one batch in flight at a time.
WritingBatch(n, e) ==
    /\ up[n]
    /\ unsynced[n] \in {0, e.batch}
    /\ unsynced' = [unsynced EXCEPT ![n] = e.batch]

(***************************************************************************)
(* One action per event kind. e is the event; n = e.node.                 *)
(***************************************************************************)
\* P3 AppendBatch / Replicate: entries from e.from on supersede the tail.
AppendLog(n, e) ==
    /\ WritingBatch(n, e)
    /\ 1 <= e.from /\ e.from <= Len(log[n]) + 1
    /\ log' = [log EXCEPT ![n] = SubSeq(log[n], 1, e.from - 1) \o e.terms]
    /\ UNCHANGED <<up, dlog, hs, dhs, role, term, sm, elected, acked>>

\* P1 SetHardState, volatile half. The term never goes back, a node votes
\* at most once per term, the commit index never goes back.
WriteHardState(n, e) ==
    /\ WritingBatch(n, e)
    /\ e.term >= hs[n].term
    /\ e.term = hs[n].term => hs[n].vote \in {Nil, e.vote}
    /\ e.commit >= hs[n].commit
    /\ hs' = [hs EXCEPT ![n] = [term |-> e.term, vote |-> e.vote, commit |-> e.commit]]
    /\ UNCHANGED <<up, log, dlog, dhs, role, term, sm, elected, acked>>

\* P3 Fsync, P1 Persist: the batch is durable, and with it all written.
Sync(n, e) ==
    /\ up[n]
    /\ unsynced[n] = e.batch
    /\ unsynced' = [unsynced EXCEPT ![n] = 0]
    /\ dlog' = [dlog EXCEPT ![n] = log[n]]
    /\ dhs' = [dhs EXCEPT ![n] = hs[n]]
    /\ UNCHANGED <<up, log, hs, role, term, sm, elected, acked>>

\* P3 CrashDurability, P1 Restart: the process dies; soft state is lost.
Crash(n, e) ==
    /\ up[n]
    /\ up' = [up EXCEPT ![n] = FALSE]
    /\ role' = [role EXCEPT ![n] = Follower]
    /\ unsynced' = [unsynced EXCEPT ![n] = 0]
    /\ UNCHANGED <<log, dlog, hs, dhs, term, sm, elected, acked>>

\* Recovery reads back what survived: the durable log and HardState, or,
\* when a torn write kept a prefix of the unsynced batch, the written ones
\* (a batch's records survive or vanish whole). The applied index is in
\* DuckDB, committed with the entries' effects: it comes back exactly.
Recover(n, e) ==
    /\ ~up[n]
    /\ e.first = 1
    /\ e.terms \in {dlog[n], log[n]}
    /\ [term |-> e.term, vote |-> e.vote, commit |-> e.commit] \in {dhs[n], hs[n]}
    /\ e.applied = Len(sm[n])
    /\ up' = [up EXCEPT ![n] = TRUE]
    /\ log' = [log EXCEPT ![n] = e.terms]
    /\ dlog' = [dlog EXCEPT ![n] = e.terms]
    /\ LET recovered == [term |-> e.term, vote |-> e.vote, commit |-> e.commit]
       IN /\ hs' = [hs EXCEPT ![n] = recovered]
          /\ dhs' = [dhs EXCEPT ![n] = recovered]
    /\ UNCHANGED <<unsynced, role, term, sm, elected, acked>>

\* P3 Elect, or a step-down: the role and term the node reports.
ReportRole(n, e) ==
    /\ up[n]
    /\ role' = [role EXCEPT ![n] = IF e.leader THEN Leader ELSE Follower]
    /\ term' = [term EXCEPT ![n] = e.term]
    /\ elected' = IF e.leader THEN elected \cup {<<e.term, n>>} ELSE elected
    /\ UNCHANGED <<up, log, dlog, hs, dhs, unsynced, sm, acked>>

\* P1 Apply, P3 ApplyAtomic: the next entries, in order, no gap, no
\* repeat, each one the node holds durably (raft-rs hands out only
\* persisted entries).
Apply(n, e) ==
    /\ up[n]
    /\ e.from = Len(sm[n]) + 1
    /\ \A x \in 1..Len(e.terms) :
          /\ e.from + x - 1 <= Len(dlog[n])
          /\ dlog[n][e.from + x - 1] = e.terms[x]
    /\ sm' = [sm EXCEPT ![n] = sm[n] \o e.terms]
    /\ UNCHANGED <<up, log, dlog, hs, dhs, unsynced, role, term, elected, acked>>

\* P3 AckDurable / AckApplied: node n answers a client about the entry at
\* (e.index, e.term). Whether it could is for the invariants to judge.
Ack(n, e) ==
    /\ up[n]
    /\ acked' = acked \cup {[node |-> n, index |-> e.index, term |-> e.term]}
    /\ UNCHANGED <<up, log, dlog, hs, dhs, unsynced, role, term, sm, elected>>

Step(e) ==
    LET n == e.node IN
    /\ n \in Server
    /\ \/ e.ev = "Append" /\ AppendLog(n, e)
       \/ e.ev = "HardState" /\ WriteHardState(n, e)
       \/ e.ev = "Sync" /\ Sync(n, e)
       \/ e.ev = "Crash" /\ Crash(n, e)
       \/ e.ev = "Recover" /\ Recover(n, e)
       \/ e.ev = "Role" /\ ReportRole(n, e)
       \/ e.ev = "Apply" /\ Apply(n, e)
       \/ e.ev = "Ack" /\ Ack(n, e)
       \* "Compact" (and anything else) matches no action.

Next ==
    \/ /\ l <= Len(Trace)
       /\ Step(Trace[l])
       /\ l' = l + 1
    \* The whole trace matched: stutter, so that only a trace that cannot
    \* go on deadlocks.
    \/ /\ l > Len(Trace)
       /\ UNCHANGED vars

Spec == Init /\ [][Next]_vars

(***************************************************************************)
(* Invariants, under the models' names.                                    *)
(***************************************************************************)
\* P1 ElectionSafety, over the whole trace: no two leaders of one term.
ElectionSafety ==
    \A a, b \in elected : a[1] = b[1] => a[2] = b[2]

\* P1 VoteDurable: every leader holds votes from a quorum whose DURABLE
\* HardState still promises them (persist before send).
VoteDurable ==
    \A i \in Server : (up[i] /\ role[i] = Leader) =>
        2 * Cardinality({j \in Server :
                \/ dhs[j].term > term[i]
                \/ dhs[j].term = term[i] /\ dhs[j].vote = i})
            > Cardinality(Server)

\* P1 LogMatching, on the written logs: if two logs hold the same term at
\* an index, they hold the same terms at every earlier index (checked
\* pairwise on neighbours, which is equivalent by induction).
LogMatching ==
    \A i, j \in Server :
        \A k \in 2..Min(Len(log[i]), Len(log[j])) :
            log[i][k] = log[j][k] => log[i][k - 1] = log[j][k - 1]

\* P1 StateMachineSafety: no two state machines applied different entries
\* at one index.
StateMachineSafety ==
    \A i, j \in Server :
        \A k \in 1..Min(Len(sm[i]), Len(sm[j])) : sm[i][k] = sm[j][k]

\* P1 LeaderCompleteness, its local form: no node's log, written or
\* durable, ever loses or changes an entry that node applied (committed
\* entries are never overwritten).
AppliedStaysInLog ==
    \A i \in Server : \A k \in 1..Len(sm[i]) :
        /\ Len(log[i]) >= k /\ log[i][k] = sm[i][k]
        /\ Len(dlog[i]) >= k /\ dlog[i][k] = sm[i][k]

\* P3, the commit rule's consequence: every entry any node applied is
\* durable, at its index and term, on a quorum; and stays so.
CommittedDurableOnQuorum ==
    \A i \in Server : \A k \in 1..Len(sm[i]) : DurableOnQuorum(k, sm[i][k])

\* P3 AckedDurableOnQuorum: an acked write is durable on a quorum, where
\* it was acked.
AckedDurableOnQuorum ==
    \A a \in acked : DurableOnQuorum(a.index, a.term)

\* P3 AckedWritesApplied: a client is acked only by a node that applied
\* the entry.
AckedWritesApplied ==
    \A a \in acked : Len(sm[a.node]) >= a.index /\ sm[a.node][a.index] = a.term

\* P3 AckedWritesSurvive: every leader of the ack's term or later holds the
\* acked entry where it was acked.
AckedWritesSurvive ==
    \A a \in acked : \A i \in Server :
        (up[i] /\ role[i] = Leader /\ term[i] >= a.term) =>
            Len(log[i]) >= a.index /\ log[i][a.index] = a.term
=============================================================================
