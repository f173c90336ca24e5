------------------------------ MODULE P3GroupCommit ------------------------------
(***************************************************************************)
(* P3, group-commit durability, atomic apply and deterministic txn check. *)
(*                                                                         *)
(* Models the write path as duckraft implements it:                       *)
(*   1. group commit: the leader coalesces several proposals into ONE log *)
(*      append, made durable by ONE later fsync; followers likewise       *)
(*      append a batch to memory, fsync it once, and ack only what is     *)
(*      durable;                                                          *)
(*   2. an entry is committed once durable on a quorum (the leader counts *)
(*      its own durable index, not its in-memory one) and is of the       *)
(*      leader's term; a node applies only committed entries it holds     *)
(*      durably;                                                          *)
(*   3. a client is acked only after its entry is committed and applied  *)
(*      on the node that serves it;                                       *)
(*   4. the applied index is written in the same DuckDB transaction as   *)
(*      the entry's effects;                                              *)
(*   5. a transaction commit entry carries its snapshot index and         *)
(*      read/write sets; every node runs the same conflict check on apply *)
(*      against the entries between the snapshot index and the entry      *)
(*      (derived from the log, so durable), and commits or aborts with    *)
(*      40001 identically.                                                *)
(*                                                                         *)
(* A crash loses everything not fsynced: the unsynced log tail and all    *)
(* soft state. The DuckDB file (effects and applied index) is durable.    *)
(*                                                                         *)
(* The model has two scopes, checked as two configurations, because their *)
(* product does not fit a CI budget and they share no state:             *)
(*   Scope = "Durability": points 1-3. Elections (one atomic step; P1    *)
(*     checks them in detail), batched appends, fsyncs, replication,      *)
(*     acks, crashes of any node. Apply is not modelled beyond its        *)
(*     precondition: a node acks a client for an entry it could apply     *)
(*     (committed and durable on it).                                     *)
(*   Scope = "Apply": points 3-5. Consensus is abstracted to a committed *)
(*     log that grows by batches (P1 and the Durability scope check it); *)
(*     nodes apply it lazily, crash, restart, and ack clients.           *)
(*                                                                         *)
(* The workload: a plain write "w" of key k, and a transaction "t" that   *)
(* began on snapshot index 0, read k and writes j. t must abort iff w is  *)
(* applied between its snapshot and t itself.                             *)
(*                                                                         *)
(* Mutant (docs/formal-models.md):                                         *)
(*   "None"                         the protocol as implemented;           *)
(*   "AckAfterLocalFsync"           ack once the leader's fsync is done;   *)
(*   "AckBeforeFollowerFsync"       a follower acks before its fsync;      *)
(*   "AppliedIndexOutsideTxn"       effects and applied index in separate  *)
(*                                  DuckDB transactions;                   *)
(*   "ConflictCheckVolatileHistory" the conflict check reads an in-memory *)
(*                                  write history lost on restart;         *)
(*   "FsyncWaitsForFullBatch"       the group-commit fsync waits until     *)
(*                                  FullBatch entries are pending.         *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Server,
    MaxTerm,     \* bound: elections (Durability)
    MaxLogLen,   \* bound: log length (Durability)
    Scope,       \* "Durability" or "Apply"
    Mutant

ASSUME Scope \in {"Durability", "Apply"}
ASSUME Mutant \in {"None", "AckAfterLocalFsync", "AckBeforeFollowerFsync",
                   "AppliedIndexOutsideTxn", "ConflictCheckVolatileHistory",
                   "FsyncWaitsForFullBatch"}

Props == {"w", "t"}
\* Group commit batches. In the Apply scope: one proposal, or both
\* coalesced, in either order. In the Durability scope, where the order of
\* proposals does not matter but every extra log shape multiplies the
\* state space, the two proposals always travel as one coalesced batch.
Batches == {<<"w">>, <<"t">>, <<"w", "t">>, <<"t", "w">>}
DurabilityBatches == {<<"w", "t">>}
TxnSnapshot == 0                  \* t's snapshot index
WritesKeyReadByTxn(p) == p = "w"  \* w writes the key t read

Follower == "Follower"
Leader == "Leader"

VARIABLES
    \* Durability scope.
    currentTerm,  \* [Server -> Nat] (HardState, durable; P1 checks votes)
    role,         \* [Server -> {Follower, Leader}], soft
    log,          \* [Server -> Seq([term, prop])], in memory
    durable,      \* [Server -> Nat]: fsynced prefix of log
    commitIndex,  \* [Server -> Nat]
    match,        \* [Server -> [Server -> Nat]]: a leader's view of each
                  \* follower's acked durable index, soft
    ackedAt,      \* [Props -> <<index, term>>]: where an acked proposal
                  \* sits, <<0, 0>> while not acked (ghost)
    \* Apply scope.
    clog,         \* the committed log: Seq(prop)
    applied,      \* [Server -> Nat]: applied index in DuckDB, durable
    db,           \* [Server -> Seq([prop, ok])]: effects in DuckDB, durable
    midApply,     \* [Server -> BOOLEAN]: effects committed, applied index
                  \* not yet (only the AppliedIndexOutsideTxn mutant)
    trackFrom,    \* [Server -> Nat]: applied index at the last restart; an
                  \* in-memory write history only covers later entries
                  \* (only the ConflictCheckVolatileHistory mutant)
    ackedBy       \* [Props -> Server \cup {"none"}]: node that acked (ghost)

durabilityVars == <<currentTerm, role, log, durable, commitIndex, match, ackedAt>>
applyVars == <<clog, applied, db, midApply, trackFrom, ackedBy>>
vars == <<durabilityVars, applyVars>>

Quorum == {Q \in SUBSET Server : 2 * Cardinality(Q) > Cardinality(Server)}
Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b
NoMatch == [s \in Server |-> 0]
NotAcked == <<0, 0>>

Init ==
    /\ currentTerm = [i \in Server |-> 0]
    /\ role = [i \in Server |-> Follower]
    /\ log = [i \in Server |-> <<>>]
    /\ durable = [i \in Server |-> 0]
    /\ commitIndex = [i \in Server |-> 0]
    /\ match = [i \in Server |-> NoMatch]
    /\ ackedAt = [p \in Props |-> NotAcked]
    /\ clog = <<>>
    /\ applied = [i \in Server |-> 0]
    /\ db = [i \in Server |-> <<>>]
    /\ midApply = [i \in Server |-> FALSE]
    /\ trackFrom = [i \in Server |-> 0]
    /\ ackedBy = [p \in Props |-> "none"]

(***************************************************************************)
(* Durability scope.                                                       *)
(***************************************************************************)
Entry(t, p) == [term |-> t, prop |-> p]
LastTerm(l) == IF Len(l) = 0 THEN 0 ELSE l[Len(l)].term
InLog(l, p) == \E k \in 1..Len(l) : l[k].prop = p

\* Length of the longest common prefix of two logs.
RECURSIVE CommonPrefixFrom(_, _, _)
CommonPrefixFrom(a, b, k) ==
    IF k < Len(a) /\ k < Len(b) /\ a[k + 1] = b[k + 1]
    THEN CommonPrefixFrom(a, b, k + 1) ELSE k
CommonPrefix(a, b) == CommonPrefixFrom(a, b, 0)

\* The leader's commit rule: the highest index durable on a quorum (its
\* own durable index d and its followers' acks m) whose entry is of its term.
NewCommit(i, m, d) ==
    LET ks == {k \in (commitIndex[i] + 1)..Len(log[i]) :
                  /\ log[i][k].term = currentTerm[i]
                  /\ {s \in Server : IF s = i THEN d >= k ELSE m[s] >= k} \in Quorum}
    IN IF ks = {} THEN commitIndex[i] ELSE CHOOSE k \in ks : \A x \in ks : x <= k

\* i wins an election in a new term with the votes of quorum Q, whose logs
\* are no more up to date than i's. The new leader appends a no-op.
Elect(i, Q) ==
    LET t == currentTerm[i] + 1
    IN /\ Scope = "Durability"
       /\ t <= MaxTerm
       /\ i \in Q
       /\ Len(log[i]) < MaxLogLen
       /\ \A v \in Q :
             /\ currentTerm[v] < t
             /\ \/ LastTerm(log[i]) > LastTerm(log[v])
                \/ LastTerm(log[i]) = LastTerm(log[v]) /\ Len(log[i]) >= Len(log[v])
       /\ currentTerm' = [v \in Server |-> IF v \in Q THEN t ELSE currentTerm[v]]
       /\ role' = [v \in Server |-> IF v = i THEN Leader
                                    ELSE IF v \in Q THEN Follower ELSE role[v]]
       /\ match' = [v \in Server |-> IF v \in Q THEN NoMatch ELSE match[v]]
       /\ log' = [log EXCEPT ![i] = Append(log[i], Entry(t, "noop"))]
       /\ UNCHANGED <<durable, commitIndex, ackedAt, applyVars>>

\* Group commit, step 1: the leader coalesces a batch of proposals into one
\* in-memory append.
AppendBatch(i) ==
    /\ role[i] = Leader
    /\ \E batch \in DurabilityBatches :
          /\ \A x \in 1..Len(batch) : ~InLog(log[i], batch[x])
          /\ Len(log[i]) + Len(batch) <= MaxLogLen
          /\ log' = [log EXCEPT ![i] =
                log[i] \o [x \in 1..Len(batch) |-> Entry(currentTerm[i], batch[x])]]
    /\ UNCHANGED <<currentTerm, role, durable, commitIndex, match, ackedAt,
                   applyVars>>

\* Group commit, step 2: one fsync makes the whole in-memory tail durable.
\* For the leader, its durable index is its own vote towards the quorum.
\* The batcher fsyncs whatever is pending; the FsyncWaitsForFullBatch
\* mutant waits for FullBatch entries, which may never come.
FullBatch == 3
Fsync(i) ==
    /\ durable[i] < Len(log[i])
    /\ Mutant = "FsyncWaitsForFullBatch" => Len(log[i]) - durable[i] >= FullBatch
    /\ durable' = [durable EXCEPT ![i] = Len(log[i])]
    /\ commitIndex' = [commitIndex EXCEPT ![i] =
          IF role[i] = Leader THEN NewCommit(i, match[i], Len(log[i]))
          ELSE commitIndex[i]]
    /\ UNCHANGED <<currentTerm, role, log, match, ackedAt, applyVars>>

\* The leader sends its log to j, which appends it in memory, truncating a
\* conflicting tail (and with it any durable part of that tail), and
\* learns the commit index.
Replicate(i, j) ==
    /\ role[i] = Leader
    /\ currentTerm[i] >= currentTerm[j]
    /\ LET c == CommonPrefix(log[j], log[i])
           newLog == IF c = Len(log[i]) THEN log[j] ELSE log[i]
       IN /\ \/ newLog # log[j]
             \/ commitIndex[j] < commitIndex[i]
             \/ currentTerm[j] < currentTerm[i]
             \/ role[j] = Leader
          /\ log' = [log EXCEPT ![j] = newLog]
          /\ durable' = [durable EXCEPT ![j] = Min(durable[j], c)]
          /\ commitIndex' = [commitIndex EXCEPT ![j] =
                Max(commitIndex[j], commitIndex[i])]
    /\ currentTerm' = [currentTerm EXCEPT ![j] = currentTerm[i]]
    /\ role' = [role EXCEPT ![j] = Follower]
    /\ match' = [match EXCEPT ![j] = NoMatch]
    /\ UNCHANGED <<ackedAt, applyVars>>

\* Follower j fsyncs what it holds (one fsync for the whole batch), then
\* acks its durable index to leader i, which may advance its commit index.
\* The AckBeforeFollowerFsync mutant acks its in-memory log and leaves the
\* fsync for later.
FollowerAck(i, j) ==
    /\ role[i] = Leader
    /\ role[j] = Follower
    /\ currentTerm[j] = currentTerm[i]
    /\ LET newDurable == IF Mutant = "AckBeforeFollowerFsync" THEN durable[j]
                         ELSE Len(log[j])
           held == IF Mutant = "AckBeforeFollowerFsync" THEN Len(log[j])
                   ELSE newDurable
           m == [match[i] EXCEPT ![j] = Max(@, Min(held, CommonPrefix(log[j], log[i])))]
       IN /\ m # match[i] \/ newDurable # durable[j]
          /\ durable' = [durable EXCEPT ![j] = newDurable]
          /\ match' = [match EXCEPT ![i] = m]
          /\ commitIndex' = [commitIndex EXCEPT ![i] = NewCommit(i, m, durable[i])]
    /\ UNCHANGED <<currentTerm, role, log, ackedAt, applyVars>>

\* Node n serves the client of proposal p and acks it once n could apply
\* p's entry: committed and durable on n. (The Apply scope checks that the
\* ack also waits for the apply itself.) The AckAfterLocalFsync mutant acks
\* once p is durable in the leader's own log.
AckDurable(n, p) ==
    /\ Scope = "Durability"
    /\ ackedAt[p] = NotAcked
    /\ \E k \in 1..Len(log[n]) :
          /\ log[n][k].prop = p
          /\ IF Mutant = "AckAfterLocalFsync"
             THEN role[n] = Leader /\ k <= durable[n]
             ELSE k <= commitIndex[n] /\ k <= durable[n]
          /\ ackedAt' = [ackedAt EXCEPT ![p] = <<k, log[n][k].term>>]
    /\ UNCHANGED <<currentTerm, role, log, durable, commitIndex, match, applyVars>>

\* Crash and restart: the unsynced log tail and soft state are lost; the
\* commit index (HardState) survives as far as the durable log reaches.
CrashDurability(i) ==
    /\ Scope = "Durability"
    /\ log' = [log EXCEPT ![i] = SubSeq(log[i], 1, durable[i])]
    /\ commitIndex' = [commitIndex EXCEPT ![i] = Min(commitIndex[i], durable[i])]
    /\ role' = [role EXCEPT ![i] = Follower]
    /\ match' = [match EXCEPT ![i] = NoMatch]
    /\ <<log', role', match'>> # <<log, role, match>>
    /\ UNCHANGED <<currentTerm, durable, ackedAt, applyVars>>

(***************************************************************************)
(* Apply scope.                                                            *)
(***************************************************************************)
\* A batch of proposals commits: one append, one fsync, on a quorum.
CommitBatch ==
    /\ Scope = "Apply"
    /\ \E batch \in Batches :
          /\ \A x \in 1..Len(batch) : \A y \in 1..Len(clog) : clog[y] # batch[x]
          /\ clog' = clog \o batch
    /\ UNCHANGED <<durabilityVars, applied, db, midApply, trackFrom, ackedBy>>

\* The effect of applying the entry at index k on node i. A transaction
\* aborts (40001) iff an entry after its snapshot index and before it wrote
\* a key it read. The check reads the write history from the log, which
\* every node holds identically; the mutant reads an in-memory history that
\* starts at the node's last restart.
Conflict(i, k) ==
    \E x \in (TxnSnapshot + 1)..(k - 1) :
        /\ WritesKeyReadByTxn(clog[x])
        /\ x > trackFrom[i] \/ Mutant # "ConflictCheckVolatileHistory"

Effect(i, k) == [prop |-> clog[k], ok |-> clog[k] # "t" \/ ~Conflict(i, k)]

\* Apply the next committed entry: its effects and the new applied index
\* commit in ONE DuckDB transaction.
ApplyAtomic(i) ==
    /\ Scope = "Apply"
    /\ Mutant # "AppliedIndexOutsideTxn"
    /\ applied[i] < Len(clog)
    /\ applied' = [applied EXCEPT ![i] = applied[i] + 1]
    /\ db' = [db EXCEPT ![i] = Append(db[i], Effect(i, applied[i] + 1))]
    /\ UNCHANGED <<durabilityVars, clog, midApply, trackFrom, ackedBy>>

\* The AppliedIndexOutsideTxn mutant: the effects commit in one DuckDB
\* transaction, the applied index in a later one.
ApplyEffectsOnly(i) ==
    /\ Scope = "Apply"
    /\ Mutant = "AppliedIndexOutsideTxn"
    /\ ~midApply[i]
    /\ applied[i] < Len(clog)
    /\ db' = [db EXCEPT ![i] = Append(db[i], Effect(i, applied[i] + 1))]
    /\ midApply' = [midApply EXCEPT ![i] = TRUE]
    /\ UNCHANGED <<durabilityVars, clog, applied, trackFrom, ackedBy>>

WriteAppliedIndex(i) ==
    /\ midApply[i]
    /\ applied' = [applied EXCEPT ![i] = applied[i] + 1]
    /\ midApply' = [midApply EXCEPT ![i] = FALSE]
    /\ UNCHANGED <<durabilityVars, clog, db, trackFrom, ackedBy>>

\* Node n acks the client of proposal p once n has applied p.
AckApplied(n, p) ==
    /\ Scope = "Apply"
    /\ ackedBy[p] = "none"
    /\ \E k \in 1..applied[n] : clog[k] = p
    /\ ackedBy' = [ackedBy EXCEPT ![p] = n]
    /\ UNCHANGED <<durabilityVars, clog, applied, db, midApply, trackFrom>>

\* Crash and restart: DuckDB survives; what is in memory does not.
CrashApply(i) ==
    /\ Scope = "Apply"
    /\ midApply' = [midApply EXCEPT ![i] = FALSE]
    /\ trackFrom' = [trackFrom EXCEPT ![i] =
          IF Mutant = "ConflictCheckVolatileHistory" THEN applied[i] ELSE 0]
    /\ <<midApply', trackFrom'>> # <<midApply, trackFrom>>
    /\ UNCHANGED <<durabilityVars, clog, applied, db, ackedBy>>

Next ==
    \/ \E i \in Server :
          \/ AppendBatch(i) \/ Fsync(i) \/ CrashDurability(i)
          \/ \E Q \in Quorum : Elect(i, Q)
          \/ \E j \in Server \ {i} : Replicate(i, j) \/ FollowerAck(i, j)
          \/ \E p \in Props : AckDurable(i, p) \/ AckApplied(i, p)
          \/ ApplyAtomic(i) \/ ApplyEffectsOnly(i) \/ WriteAppliedIndex(i)
          \/ CrashApply(i)
    \/ CommitBatch

Spec == Init /\ [][Next]_vars

\* Fairness: fsyncs and applies keep happening somewhere while any is
\* possible. Elections, proposals, replication, acks and crashes are not
\* obliged to happen.
Fairness ==
    WF_vars(\E i \in Server : Fsync(i) \/ ApplyAtomic(i) \/ WriteAppliedIndex(i))

FairSpec == Spec /\ Fairness

(***************************************************************************)
(* Invariants. The simulator checks the same properties under the same   *)
(* names.                                                                  *)
(***************************************************************************)
TypeOK ==
    /\ \A i \in Server :
          /\ currentTerm[i] \in 0..MaxTerm
          /\ Len(log[i]) <= MaxLogLen
          /\ durable[i] <= Len(log[i])
          /\ applied[i] <= Len(clog)

\* An acked write is durable, at the index where it was acked, on a quorum.
AckedDurableOnQuorum ==
    \A p \in Props : ackedAt[p] # NotAcked =>
        \E Q \in Quorum : \A v \in Q :
            /\ durable[v] >= ackedAt[p][1]
            /\ log[v][ackedAt[p][1]] = Entry(ackedAt[p][2], p)

\* No crash loses an acked write: every leader of the ack's term or later
\* holds it where it was acked.
AckedWritesSurvive ==
    \A p \in Props : ackedAt[p] # NotAcked =>
        \A i \in Server :
            (role[i] = Leader /\ currentTerm[i] >= ackedAt[p][2]) =>
                /\ Len(log[i]) >= ackedAt[p][1]
                /\ log[i][ackedAt[p][1]] = Entry(ackedAt[p][2], p)

\* The applied index describes exactly the effects in DuckDB: every entry
\* up to it took effect, none after it did.
AppliedIndexAtomic ==
    \A i \in Server :
        [x \in DOMAIN db[i] |-> db[i][x].prop] = SubSeq(clog, 1, applied[i])

\* No node applies a proposal's effects twice.
NoDoubleApply ==
    \A i \in Server :
        \A x, y \in DOMAIN db[i] : x < y => db[i][x].prop # db[i][y].prop

\* A transaction commits on every node or aborts (40001) on every node.
TxnOutcomeAgreement ==
    \A i, j \in Server :
        \A x \in DOMAIN db[i], y \in DOMAIN db[j] :
            (db[i][x].prop = "t" /\ db[j][y].prop = "t") => db[i][x].ok = db[j][y].ok

\* Every node's DuckDB state is a prefix of every other's, or extends it.
StateMachinesAgree ==
    \A i, j \in Server :
        \A x \in 1..Min(Len(db[i]), Len(db[j])) : db[i][x] = db[j][x]

\* A client is acked only by a node that applied its write.
AckedWritesApplied ==
    \A p \in Props : ackedBy[p] # "none" =>
        \E x \in DOMAIN db[ackedBy[p]] : db[ackedBy[p]][x].prop = p

(***************************************************************************)
(* Liveness under Fairness.                                                *)
(***************************************************************************)
\* Group commit never leaves an appended entry waiting for its fsync.
BatchesBecomeDurable ==
    \A i \in Server : Len(log[i]) > durable[i] ~> Len(log[i]) = durable[i]

\* Every node eventually applies the whole committed log.
AppliedCatchesUp ==
    <>[](\A i \in Server : applied[i] = Len(clog))

Symmetry == Permutations(Server)
=============================================================================
