------------------------------ MODULE P2LogOrdering ------------------------------
(***************************************************************************)
(* P2, log ordering: sessions, forwarding, retries and linearizable reads. *)
(*                                                                         *)
(* Consensus itself is abstracted (P1 checks it): the committed log is one *)
(* global sequence clog, and every leader's log holds all of it (Leader    *)
(* Completeness). What P2 models is what duckraft builds on top:           *)
(*   1. a session's write carries a unique id (client id, sequence); a     *)
(*      session has one write outstanding at a time (the PostgreSQL wire   *)
(*      protocol is sequential) and issues the next only after an ack;     *)
(*   2. a write on a follower is forwarded to the leader; forwards and     *)
(*      client retries can be late, duplicated, and cross leader changes,  *)
(*      so a leader may append any write id issued so far, at any time;    *)
(*   3. the state machine keeps a session table in DuckDB (durable, in the *)
(*      same transaction as the effects) and applies a write only if its   *)
(*      sequence is above the session's last applied one (dedup);          *)
(*   4. the client is acked once the serving node has applied the write;   *)
(*   5. a linearizable read goes through ReadIndex: the leader takes its   *)
(*      commit index as the read index and confirms with a heartbeat       *)
(*      quorum that it still leads (one atomic step here: a deposed        *)
(*      leader's round fails and the read is retried); the serving node    *)
(*      answers once its applied index reaches the read index;             *)
(*   6. a newly elected leader gives no read index before an entry of its  *)
(*      own term (its no-op) is committed: until then it knows no more of  *)
(*      the commit index than it has applied.                              *)
(*                                                                         *)
(* Nodes learn the commit index and apply lazily, so any node may lag.    *)
(*                                                                         *)
(* Mutant (docs/formal-models.md):                                         *)
(*   "None"                  the protocol as implemented;                  *)
(*   "NoDedup"               apply every entry, duplicates included;       *)
(*   "ReadWithoutReadIndex"  serve a read from the local applied state;    *)
(*   "ReadBeforeNoop"        give a read index before the no-op commits.   *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Server,      \* the nodes of the group
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

\* The one read of a run: its phase, serving node, read index and the term
\* of the leader that gave it, the writes acked when it began, and whether
\* its answer contained them all.
ReadIdle == [state |-> "idle", node |-> Nil, index |-> 0, term |-> 0,
             mustSee |-> {}, sawAll |-> FALSE]

VARIABLES
    clog,      \* the committed log: Seq of entries
    term,      \* the latest term in which a leader was elected
    leader,    \* the leader of that term
    applied,   \* [Server -> Nat]: applied index, durable in DuckDB
    issued,    \* [Client -> Nat]: sequence of the session's latest write
    acked,     \* [Client -> Nat]: sequence of its latest acked write
    read

vars == <<clog, term, leader, applied, issued, acked, read>>

(***************************************************************************)
(* The state machine. Applying a prefix of the log yields the session     *)
(* table and the history of writes whose effects were applied, in order.  *)
(***************************************************************************)
RECURSIVE ApplyFrom(_, _, _, _)
\* Apply entries k..n of clog to [last |-> session table, hist |-> history].
ApplyFrom(k, n, last, hist) ==
    IF k > n THEN [last |-> last, hist |-> hist]
    ELSE LET e == clog[k]
             effective == /\ e.kind = "write"
                          /\ e.seq > last[e.client] \/ Mutant = "NoDedup"
         IN IF effective
            THEN ApplyFrom(k + 1, n, [last EXCEPT ![e.client] = e.seq],
                           Append(hist, <<e.client, e.seq>>))
            ELSE ApplyFrom(k + 1, n, last, hist)

StateAt(n) == ApplyFrom(1, n, [c \in Client |-> 0], <<>>)

\* The writes whose effects are visible after applying n entries.
Visible(n) == LET h == StateAt(n).hist IN {h[x] : x \in DOMAIN h}

\* The writes acknowledged so far.
AckedWrites == {w \in Client \X (1..MaxSeq) : w[2] <= acked[w[1]]}

\* The current leader has committed its no-op.
NoopCommitted == \E k \in 1..Len(clog) : clog[k] = Noop(term)

\* The commit index the current leader knows: all of clog once its no-op
\* is committed; before that, no more than it has applied.
KnownCommit == IF NoopCommitted THEN Len(clog) ELSE applied[leader]

Init ==
    /\ clog = <<>>
    /\ term = 0
    /\ leader = Nil
    /\ applied = [i \in Server |-> 0]
    /\ issued = [c \in Client |-> 0]
    /\ acked = [c \in Client |-> 0]
    /\ read = ReadIdle

\* i wins an election for the next term. Its log holds every committed
\* entry, but it does not know the commit index yet.
Elect(i) ==
    /\ term < MaxTerm
    /\ Len(clog) < MaxLogLen   \* bound: room for the new leader's no-op
    /\ term' = term + 1
    /\ leader' = i
    /\ UNCHANGED <<clog, applied, issued, acked, read>>

\* The leader's no-op commits.
CommitNoop ==
    /\ leader # Nil
    /\ ~NoopCommitted
    /\ clog' = Append(clog, Noop(term))
    /\ UNCHANGED <<term, leader, applied, issued, acked, read>>

\* Session c issues its next write, once the previous one is acked.
Issue(c) ==
    /\ issued[c] = acked[c]
    /\ issued[c] < MaxSeq
    /\ issued' = [issued EXCEPT ![c] = issued[c] + 1]
    /\ UNCHANGED <<clog, term, leader, applied, acked, read>>

\* Write <<c, s>> reaches the leader: directly, forwarded by a follower, or
\* as a late forward or client retry from before a leader change. The leader
\* appends it after its no-op and it commits. (A proposal that never
\* commits is a step that does not happen.)
Propose(c, s) ==
    /\ leader # Nil
    /\ NoopCommitted
    /\ s \in 1..issued[c]
    /\ Len(clog) < MaxLogLen
    /\ clog' = Append(clog, Write(c, s))
    /\ UNCHANGED <<term, leader, applied, issued, acked, read>>

\* Node i learns that its next entry is committed and applies it. Effects,
\* session table and applied index commit in one DuckDB transaction.
Apply(i) ==
    /\ applied[i] < Len(clog)
    /\ applied' = [applied EXCEPT ![i] = applied[i] + 1]
    /\ UNCHANGED <<clog, term, leader, issued, acked, read>>

\* Node n serves session c and acks its outstanding write once it has
\* applied it, or a duplicate of it that its session table recognised.
Ack(c, n) ==
    /\ acked[c] < issued[c]
    /\ StateAt(applied[n]).last[c] >= issued[c]
    /\ acked' = [acked EXCEPT ![c] = issued[c]]
    /\ UNCHANGED <<clog, term, leader, applied, issued, read>>

\* A session starts a read on node n. Every write acked before this moment
\* must be in the answer.
ReadStart(n) ==
    /\ read.state = "idle"
    /\ read' = [ReadIdle EXCEPT !.state = "pending", !.node = n,
                                !.mustSee = AckedWrites]
    /\ UNCHANGED <<clog, term, leader, applied, issued, acked>>

\* n forwards the request to the leader, which refuses until its no-op is
\* committed, then confirms its leadership with a heartbeat quorum and
\* returns its commit index as the read index.
ReadIndex ==
    /\ read.state = "pending"
    /\ leader # Nil
    /\ NoopCommitted \/ Mutant = "ReadBeforeNoop"
    /\ read' = [read EXCEPT !.state = "indexed", !.index = KnownCommit,
                            !.term = term]
    /\ UNCHANGED <<clog, term, leader, applied, issued, acked>>

\* The serving node answers once its applied index reaches the read index.
\* The ReadWithoutReadIndex mutant answers straight from local state.
ReadServe ==
    /\ \/ read.state = "indexed" /\ applied[read.node] >= read.index
       \/ read.state = "pending" /\ Mutant = "ReadWithoutReadIndex"
    /\ read' = [read EXCEPT !.state = "done",
                   !.sawAll = read.mustSee \subseteq Visible(applied[read.node])]
    /\ UNCHANGED <<clog, term, leader, applied, issued, acked>>

Next ==
    \/ \E i \in Server : Elect(i) \/ Apply(i) \/ ReadStart(i)
    \/ \E c \in Client :
          \/ Issue(c)
          \/ \E i \in Server : Ack(c, i)
          \/ \E s \in 1..MaxSeq : Propose(c, s)
    \/ CommitNoop \/ ReadIndex \/ ReadServe

Spec == Init /\ [][Next]_vars

\* Fairness for liveness: a leader is eventually elected, commits its
\* no-op and answers read-index requests, and every node keeps applying
\* and serving. Clients are not obliged to write or read.
Fairness ==
    /\ WF_vars(\E i \in Server : Elect(i))
    /\ WF_vars(CommitNoop) /\ WF_vars(ReadIndex) /\ WF_vars(ReadServe)
    /\ \A i \in Server : WF_vars(Apply(i))

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
    /\ read.state \in {"idle", "pending", "indexed", "done"}

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

\* Every acked write took effect in the committed log.
AckedWritesApplied ==
    AckedWrites \subseteq Visible(Len(clog))

\* A linearizable read sees every write acked before it started.
ReadLinearizable ==
    read.state = "done" => read.sawAll

\* A read index covers an entry of the giving leader's own term (its no-op).
ReadIndexAfterOwnTermCommit ==
    read.term # 0 => \E k \in 1..read.index : clog[k] = Noop(read.term)

(***************************************************************************)
(* Liveness under Fairness.                                                *)
(***************************************************************************)
\* A started read is eventually answered.
ReadCompletes == read.state = "pending" ~> read.state = "done"

\* Every node eventually applies everything committed.
NodesCatchUp == <>[](\A i \in Server : applied[i] = Len(clog))

Symmetry == Permutations(Server)
=============================================================================
