------------------------------ MODULE P2LogOrdering ------------------------------
(***************************************************************************)
(* P2, log ordering: sessions, forwarding, retries and linearizable reads. *)
(*                                                                         *)
(* Consensus itself is abstracted (P1 checks it): the committed log is one *)
(* global sequence clog, and every leader's log holds all of it (Leader    *)
(* Completeness). What P2 models is what duckraft builds on top:           *)
(*   1. a session's write carries a unique id (client id, sequence); a     *)
(*      session has one write outstanding at a time (the PostgreSQL wire   *)
(*      protocol is sequential), and issues the next only after an ack;    *)
(*   2. a write on a follower is forwarded to the leader; forwards and     *)
(*      client retries can be late, duplicated, and cross leader changes,  *)
(*      so a leader may append any write id issued so far, at any time;    *)
(*   3. the state machine keeps a session table in DuckDB (durable, in the *)
(*      same transaction as the effects) and applies an entry only if its  *)
(*      sequence is above the session's last applied one (dedup);          *)
(*   4. the client is acked once the serving node has applied the write;   *)
(*   5. a linearizable read goes through ReadIndex: the leader takes its   *)
(*      commit index as the read index, confirms it is still leader with a *)
(*      heartbeat quorum, and the serving node answers once its applied    *)
(*      index reaches the read index;                                      *)
(*   6. a newly elected leader serves no read before an entry of its own   *)
(*      term (its no-op) is committed.                                     *)
(*                                                                         *)
(* A node learns the commit index lazily and applies lazily, so followers *)
(* and deposed leaders lag. A deposed leader may still believe it leads.  *)
(*                                                                         *)
(* Mutant (docs/formal-models.md):                                         *)
(*   "None"                  the protocol as implemented;                  *)
(*   "NoDedup"               apply every entry, duplicates included;       *)
(*   "ReadWithoutReadIndex"  serve a read from the local applied state;    *)
(*   "ReadBeforeNoop"        take a read index before the no-op commits.   *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Server,      \* the voters of the group
    Client,      \* sessions
    Nil,
    MaxSeq,      \* bound: writes per session
    MaxTerm,     \* bound: elections
    MaxLogLen,   \* bound: committed entries
    Mutant

ASSUME Mutant \in {"None", "NoDedup", "ReadWithoutReadIndex", "ReadBeforeNoop"}

\* Log entries. A write carries no term: it belongs to the term of the last
\* no-op before it, since a leader appends its no-op first.
Noop(t) == [kind |-> "noop", term |-> t, client |-> Nil, seq |-> 0]
Write(c, s) == [kind |-> "write", term |-> 0, client |-> c, seq |-> s]

\* The read: its phase, serving node, the leader and term that gave its read
\* index, the writes acked when it began, and whether its answer held them.
ReadIdle == [state |-> "idle", node |-> Nil, leader |-> Nil, term |-> 0,
             index |-> 0, mustSee |-> {}, sawAll |-> FALSE]

VARIABLES
    clog,        \* the committed log: Seq of entries
    term,        \* the latest term in which a leader was elected
    leaderTerm,  \* [Server -> Nat]: the term a node believes it leads, or 0
    applied,     \* [Server -> Nat]: applied index (durable, in DuckDB). A node
                 \* learns the commit index and applies in one step, lazily.
    issued,      \* [Client -> Nat]: sequence of the session's latest write
    acked,       \* [Client -> Nat]: sequence of its latest acked write
    read         \* the one linearizable read of a run (see ReadIdle)

vars == <<clog, term, leaderTerm, applied, issued, acked, read>>

(***************************************************************************)
(* The state machine. Applying a prefix of the log yields the session     *)
(* table and the history of writes whose effects were applied, in order.  *)
(***************************************************************************)
RECURSIVE ApplyFrom(_, _, _, _)
\* Apply entries k..n of clog to [last |-> session table, hist |-> history].
ApplyFrom(k, n, last, hist) ==
    IF k > n THEN [last |-> last, hist |-> hist]
    ELSE LET e == clog[k]
             isNew == e.kind = "write" /\ (e.seq > last[e.client] \/ Mutant = "NoDedup")
         IN IF isNew
            THEN ApplyFrom(k + 1, n, [last EXCEPT ![e.client] = e.seq],
                           Append(hist, <<e.client, e.seq>>))
            ELSE ApplyFrom(k + 1, n, last, hist)

StateAt(n) == ApplyFrom(1, n, [c \in Client |-> 0], <<>>)

\* The writes whose effects are visible after applying n entries.
Visible(n) == {StateAt(n).hist[x] : x \in DOMAIN StateAt(n).hist}

\* The writes acknowledged so far.
AckedWrites == {w \in Client \X (1..MaxSeq) : w[2] <= acked[w[1]]}

\* Leader l has committed an entry of the term it leads (its no-op).
OwnTermCommitted(l) ==
    \E k \in 1..Len(clog) : clog[k].term = leaderTerm[l] /\ leaderTerm[l] # 0

\* The commit index leader l knows: the last entry of its own term (entries
\* after it belong to newer leaders), or, before its no-op commits, no more
\* than it had applied.
KnownCommit(l) ==
    IF OwnTermCommitted(l)
    THEN LET newer == {k \in 1..Len(clog) : clog[k].term > leaderTerm[l]}
         IN IF newer = {} THEN Len(clog)
            ELSE (CHOOSE k \in newer : \A x \in newer : k <= x) - 1
    ELSE applied[l]

IsCurrentLeader(l) == leaderTerm[l] = term /\ term > 0

Init ==
    /\ clog = <<>>
    /\ term = 0
    /\ leaderTerm = [i \in Server |-> 0]
    /\ applied = [i \in Server |-> 0]
    /\ issued = [c \in Client |-> 0]
    /\ acked = [c \in Client |-> 0]
    /\ read = ReadIdle

(***************************************************************************)
(* Leadership.                                                             *)
(***************************************************************************)
\* i wins an election for the next term. Its log holds every committed
\* entry, but it may not know the commit index yet.
Elect(i) ==
    /\ term < MaxTerm
    /\ Len(clog) < MaxLogLen   \* bound: room for the new leader's no-op
    /\ term' = term + 1
    /\ leaderTerm' = [leaderTerm EXCEPT ![i] = term + 1]
    /\ UNCHANGED <<clog, applied, issued, acked, read>>

\* A deposed leader learns of the newer term (or crashes) and steps down.
StepDown(i) ==
    /\ leaderTerm[i] # 0
    /\ leaderTerm[i] < term
    /\ leaderTerm' = [leaderTerm EXCEPT ![i] = 0]
    /\ UNCHANGED <<clog, term, applied, issued, acked, read>>

\* The current leader commits its no-op, which also tells it the commit
\* index of everything before.
CommitNoop(l) ==
    /\ IsCurrentLeader(l)
    /\ ~\E k \in 1..Len(clog) : clog[k].term = term
    /\ Len(clog) < MaxLogLen
    /\ clog' = Append(clog, Noop(term))
    /\ UNCHANGED <<term, leaderTerm, applied, issued, acked, read>>

(***************************************************************************)
(* Writes.                                                                 *)
(***************************************************************************)
\* Session c issues its next write, once the previous one is acked.
Issue(c) ==
    /\ issued[c] = acked[c]
    /\ issued[c] < MaxSeq
    /\ issued' = [issued EXCEPT ![c] = issued[c] + 1]
    /\ UNCHANGED <<clog, term, leaderTerm, applied, acked, read>>

\* Write <<c, s>> reaches the current leader: directly, forwarded by a
\* follower, or as a late forward or client retry from before a leader
\* change. The leader appends it after its no-op and it commits (an entry
\* that never commits is a lost proposal: the step simply does not happen).
Propose(l, c, s) ==
    /\ IsCurrentLeader(l)
    /\ OwnTermCommitted(l)
    /\ s \in 1..issued[c]
    /\ Len(clog) < MaxLogLen
    /\ clog' = Append(clog, Write(c, s))
    /\ UNCHANGED <<term, leaderTerm, applied, issued, acked, read>>

\* A node learns that its next entry is committed (from an append or a
\* heartbeat) and applies it. Effects, session table and applied index
\* commit in one DuckDB transaction.
Apply(i) ==
    /\ applied[i] < Len(clog)
    /\ applied' = [applied EXCEPT ![i] = applied[i] + 1]
    /\ UNCHANGED <<clog, term, leaderTerm, issued, acked, read>>

\* Node n serves session c and acks its outstanding write once it has
\* applied it (or applied a duplicate of it that the session table
\* recognised). The session table says the write is done.
Ack(c, n) ==
    /\ acked[c] < issued[c]
    /\ StateAt(applied[n]).last[c] >= issued[c]
    /\ acked' = [acked EXCEPT ![c] = issued[c]]
    /\ UNCHANGED <<clog, term, leaderTerm, applied, issued, read>>

(***************************************************************************)
(* Linearizable reads through ReadIndex.                                  *)
(***************************************************************************)
\* A session starts a read on node n. Every write acked before this moment
\* must be visible in the result.
ReadStart(n) ==
    /\ read.state = "idle"
    /\ read' = [ReadIdle EXCEPT !.state = "pending", !.node = n,
                                !.mustSee = AckedWrites]
    /\ UNCHANGED <<clog, term, leaderTerm, applied, issued, acked>>

\* The request reaches a node that believes it leads (n forwards it). The
\* leader refuses until an entry of its own term is committed, then takes
\* its commit index as the read index.
ReadIndex(l) ==
    /\ read.state = "pending"
    /\ leaderTerm[l] # 0
    /\ OwnTermCommitted(l) \/ Mutant = "ReadBeforeNoop"
    /\ read' = [read EXCEPT !.state = "confirming", !.leader = l,
                            !.term = leaderTerm[l], !.index = KnownCommit(l)]
    /\ UNCHANGED <<clog, term, leaderTerm, applied, issued, acked>>

\* The leader's heartbeat round: a quorum still accepts its term only if no
\* newer leader was elected.
ReadConfirm ==
    /\ read.state = "confirming"
    /\ read.term = term
    /\ read' = [read EXCEPT !.state = "indexed"]
    /\ UNCHANGED <<clog, term, leaderTerm, applied, issued, acked>>

\* The heartbeat round failed: a newer leader exists. The read is retried.
ReadRetry ==
    /\ read.state = "confirming"
    /\ read.term # term
    /\ read' = [read EXCEPT !.state = "pending", !.leader = Nil, !.term = 0,
                            !.index = 0]
    /\ UNCHANGED <<clog, term, leaderTerm, applied, issued, acked>>

\* The serving node answers once its applied index reaches the read index.
\* The ReadWithoutReadIndex mutant answers straight from local state.
ReadServe ==
    /\ \/ read.state = "indexed" /\ applied[read.node] >= read.index
       \/ read.state = "pending" /\ Mutant = "ReadWithoutReadIndex"
    /\ read' = [read EXCEPT !.state = "done",
                            !.sawAll = read.mustSee \subseteq Visible(applied[read.node])]
    /\ UNCHANGED <<clog, term, leaderTerm, applied, issued, acked>>

Next ==
    \/ \E i \in Server :
          \/ Elect(i) \/ StepDown(i) \/ CommitNoop(i)
          \/ Apply(i) \/ ReadStart(i) \/ ReadIndex(i)
          \/ \E c \in Client : Ack(c, i) \/ \E s \in 1..MaxSeq : Propose(i, c, s)
    \/ \E c \in Client : Issue(c)
    \/ ReadConfirm \/ ReadRetry \/ ReadServe

Spec == Init /\ [][Next]_vars

\* Fairness for liveness: the cluster keeps electing until it has a leader,
\* deposed leaders eventually step down, and every node keeps learning,
\* applying and serving. Clients are not obliged to write or read.
Fairness ==
    /\ \A i \in Server :
          /\ WF_vars(Elect(i)) /\ WF_vars(StepDown(i)) /\ WF_vars(CommitNoop(i))
          /\ WF_vars(Apply(i)) /\ WF_vars(ReadIndex(i))
    /\ WF_vars(ReadConfirm) /\ WF_vars(ReadRetry) /\ WF_vars(ReadServe)

FairSpec == Spec /\ Fairness

(***************************************************************************)
(* Invariants. The simulator checks the same properties under the same   *)
(* names.                                                                  *)
(***************************************************************************)
TypeOK ==
    /\ term \in 0..MaxTerm
    /\ Len(clog) <= MaxLogLen
    /\ \A i \in Server : applied[i] <= Len(clog)
    /\ \A c \in Client : acked[c] <= issued[c] /\ issued[c] <= MaxSeq
    /\ read.state \in {"idle", "pending", "confirming", "indexed", "done"}

\* Every write id takes effect at most once, whatever the retries.
ExactlyOnce ==
    LET h == StateAt(Len(clog)).hist
    IN \A x, y \in DOMAIN h : x < y => h[x] # h[y]

\* Each session's writes take effect in the session's order, with no gap.
SessionOrder ==
    LET h == StateAt(Len(clog)).hist
    IN \A c \in Client :
          LET mine == SelectSeq(h, LAMBDA w : w[1] = c)
          IN \A x \in DOMAIN mine : mine[x][2] = x

\* Every acked write took effect, on every node that applies far enough.
AckedWritesApplied ==
    AckedWrites \subseteq Visible(Len(clog))

\* A linearizable read sees every write acked before it started.
ReadLinearizable ==
    read.state = "done" => read.sawAll

\* A leader hands out a read index only after committing in its own term.
ReadIndexAfterOwnTermCommit ==
    read.state \in {"confirming", "indexed"} =>
        \E k \in 1..read.index : clog[k] = Noop(read.term)

(***************************************************************************)
(* Liveness under Fairness.                                                *)
(***************************************************************************)
\* A started read is eventually answered.
ReadCompletes == read.state = "pending" ~> read.state = "done"

\* Every node eventually applies everything committed.
NodesCatchUp == <>[](\A i \in Server : applied[i] = Len(clog))

Symmetry == Permutations(Server) \cup Permutations(Client)
=============================================================================
