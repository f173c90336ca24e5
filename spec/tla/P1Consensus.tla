------------------------------- MODULE P1Consensus -------------------------------
(***************************************************************************)
(* P1, consensus safety of one duckraft Raft group.                        *)
(*                                                                         *)
(* Models the protocol as duckraft runs it on raft-rs:                    *)
(*   1. pre-vote and check-quorum are on;                                 *)
(*   2. HardState (term, vote) and log entries are fsynced BEFORE the     *)
(*      vote, ack or message that depends on them leaves the node (the    *)
(*      raft-rs Ready contract: persist, then send, then advance);        *)
(*   3. a new leader appends a no-op entry of its term, and commits by    *)
(*      counting replicas only entries of its own term;                   *)
(*   4. snapshot install guards: a snapshot whose group id differs, whose *)
(*      index is <= the applied index, or whose checksum does not verify  *)
(*      is never installed.                                               *)
(*                                                                         *)
(* Granularity. Each RPC is one atomic step: the receiver handles the     *)
(* request and the sender handles the response together. A lost request  *)
(* or response is an RPC that never happens; a late response is dropped   *)
(* by raft-rs once the sender's term moved on, which is again a lost      *)
(* message. A pre-vote round is one step, since pre-votes change no state *)
(* at the voters. An append may carry any slice of the leader's log from  *)
(* the follower's known match on (probing, and batches split at the       *)
(* message size limit). Reordered and duplicated appends inside one term  *)
(* are raft-rs's own contract and are not re-checked here: P1 checks the  *)
(* decisions duckraft makes around raft-rs. Time is abstract: election    *)
(* timeouts and check-quorum step-downs may happen at any moment. Log     *)
(* entries are represented by their term: the same index and term means   *)
(* the same entry.                                                         *)
(*                                                                         *)
(* Liveness is not checked here: with terms bounded, split votes at the   *)
(* last term stall forever, so "eventually a leader" is false in any      *)
(* bounded model. The simulator checks election liveness after healing.   *)
(*                                                                         *)
(* Mutant selects a deliberately broken variant (docs/formal-models.md):  *)
(*   "None"                    the protocol as implemented;               *)
(*   "VoteWithoutPersist"      grant a vote before the HardState fsync;   *)
(*   "CommitOldTermByCounting" commit an earlier-term entry by counting;  *)
(*   "SnapshotNoGroupCheck"    install a snapshot of another group;       *)
(*   "SnapshotNoChecksum"      install a snapshot that fails its checksum;*)
(*   "SnapshotStaleInstall"    install a snapshot at or below applied.    *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Server,       \* the voters of the group
    Nil,          \* "no vote"
    MaxTerm,      \* bound: no node campaigns beyond this term
    MaxLogLen,    \* bound: no log grows beyond this many entries
    Mutant        \* "None" or the name of a broken variant

ASSUME MaxTerm \in Nat /\ MaxLogLen \in Nat
ASSUME Mutant \in {"None", "VoteWithoutPersist", "CommitOldTermByCounting",
                   "SnapshotNoGroupCheck", "SnapshotNoChecksum",
                   "SnapshotStaleInstall"}

\* The group this model replicates, and a foreign one. A snapshot of the
\* foreign group, or a corrupted one, carries "garbage": one entry of term 0,
\* which no entry of this group ever has.
ThisGroup == "g1"
OtherGroup == "g2"
Garbage == <<0>>

\* Snapshots the network may deliver at any time: one misrouted from another
\* group and one of this group whose checksum fails.
ForgedSnapshots ==
    {[term |-> 1, group |-> OtherGroup, index |-> 1, data |-> Garbage,
      checksumOk |-> TRUE],
     [term |-> 1, group |-> ThisGroup, index |-> 1, data |-> Garbage,
      checksumOk |-> FALSE]}

Follower == "Follower"
Candidate == "Candidate"
Leader == "Leader"

VARIABLES
    \* Volatile (in-memory) view of HardState.
    currentTerm,   \* [Server -> Nat]
    votedFor,      \* [Server -> Server \cup {Nil}]
    \* Durable HardState, as last fsynced to the WAL; a restart reloads it.
    hardTerm,      \* [Server -> Nat]
    hardVote,      \* [Server -> Server \cup {Nil}]
    \* The log. Entries are appended and fsynced in the step that appends
    \* them, before any ack or message (P3 splits append from fsync).
    log,           \* [Server -> Seq(term)]
    commitIndex,   \* [Server -> Nat], part of HardState in raft-rs
    \* The state machine (DuckDB), durable: the sequence of applied entries.
    \* Len(sm[i]) is the applied index.
    sm,            \* [Server -> Seq(term)]
    \* SoftState, lost on restart: [role, lease, votes, match]. lease means
    \* "heard from a live leader within the election timeout" (check-quorum);
    \* votes are the votes a candidate holds; match is a leader's view of its
    \* replicas. Fields that do not apply to the role are empty.
    soft,
    \* Ghost variable, for invariants only.
    highWater      \* [Server -> Nat]: highest applied index ever reached

hardVars == <<hardTerm, hardVote>>
ghostVars == <<highWater>>
vars == <<currentTerm, votedFor, hardVars, log, commitIndex, sm, soft,
          ghostVars>>

Quorum == {Q \in SUBSET Server : 2 * Cardinality(Q) > Cardinality(Server)}

LastTerm(l) == IF Len(l) = 0 THEN 0 ELSE l[Len(l)]
Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b

NoMatch == [s \in Server |-> 0]
FollowerSoft(l) == [role |-> Follower, lease |-> l, votes |-> {}, match |-> NoMatch]
CandidateSoft(v) == [role |-> Candidate, lease |-> FALSE, votes |-> v, match |-> NoMatch]
LeaderSoft(m) == [role |-> Leader, lease |-> TRUE, votes |-> {}, match |-> m]

role(i) == soft[i].role

\* Candidate c's log is at least as up to date as voter v's log.
LogUpToDate(c, v) ==
    \/ LastTerm(log[c]) > LastTerm(log[v])
    \/ /\ LastTerm(log[c]) = LastTerm(log[v])
       /\ Len(log[c]) >= Len(log[v])

Init ==
    /\ currentTerm = [i \in Server |-> 0]
    /\ votedFor = [i \in Server |-> Nil]
    /\ hardTerm = [i \in Server |-> 0]
    /\ hardVote = [i \in Server |-> Nil]
    /\ log = [i \in Server |-> <<>>]
    /\ commitIndex = [i \in Server |-> 0]
    /\ sm = [i \in Server |-> <<>>]
    /\ soft = [i \in Server |-> FollowerSoft(FALSE)]
    /\ highWater = [i \in Server |-> 0]

(***************************************************************************)
(* HardState updates. Every change of term or vote is fsynced by the WAL  *)
(* before the Ready's messages are sent, so the durable copy changes in   *)
(* the same step. The VoteWithoutPersist mutant sends the vote first and  *)
(* leaves the fsync to a later Persist step.                              *)
(***************************************************************************)
SetHardState(i, t, v) ==
    /\ currentTerm' = [currentTerm EXCEPT ![i] = t]
    /\ votedFor' = [votedFor EXCEPT ![i] = v]
    /\ hardTerm' = [hardTerm EXCEPT ![i] = t]
    /\ hardVote' = [hardVote EXCEPT ![i] = v]

SetHardStateForVote(i, t, v) ==
    IF Mutant = "VoteWithoutPersist"
    THEN /\ currentTerm' = [currentTerm EXCEPT ![i] = t]
         /\ votedFor' = [votedFor EXCEPT ![i] = v]
         /\ UNCHANGED hardVars
    ELSE SetHardState(i, t, v)

\* Node j hears from a node of term t >= its own: a higher term makes it a
\* follower of t with no vote, fsynced.
ObserveTerm(j, t) ==
    IF t > currentTerm[j]
    THEN SetHardState(j, t, Nil)
    ELSE UNCHANGED <<currentTerm, votedFor, hardVars>>

\* Election timeout: a follower's (or a stalled candidate's) timer fires;
\* it no longer counts a leader as live, and may start a pre-vote.
Timeout(i) ==
    /\ role(i) # Leader
    /\ soft[i].lease
    /\ soft' = [soft EXCEPT ![i].lease = FALSE]
    /\ UNCHANGED <<currentTerm, votedFor, hardVars, log, commitIndex, sm,
                   ghostVars>>

\* Check-quorum: a leader that has not heard from a quorum within an
\* election timeout steps down. Time is abstract: it may happen any time.
CheckQuorumStepDown(i) ==
    /\ role(i) = Leader
    /\ soft' = [soft EXCEPT ![i] = FollowerSoft(FALSE)]
    /\ UNCHANGED <<currentTerm, votedFor, hardVars, log, commitIndex, sm,
                   ghostVars>>

\* j would grant i a pre-vote: j is outside its check-quorum lease and not a
\* leader, the proposed term is above its own, and i's log is up to date.
PreVoteGranted(j, i) ==
    /\ ~soft[j].lease
    /\ role(j) # Leader
    /\ currentTerm[i] + 1 > currentTerm[j]
    /\ LogUpToDate(i, j)

\* Pre-vote round of i for term + 1. Pre-votes change no state at the voters
\* (raft-rs: they touch neither term nor vote), so the round is one step:
\* with a quorum of grants, i becomes a candidate; it bumps its term and
\* votes for itself, fsynced before the vote requests go out.
PreVote(i) ==
    /\ role(i) # Leader
    /\ ~soft[i].lease
    /\ currentTerm[i] < MaxTerm
    /\ \E Q \in Quorum : i \in Q /\ \A j \in Q \ {i} : PreVoteGranted(j, i)
    /\ SetHardState(i, currentTerm[i] + 1, i)
    /\ soft' = [soft EXCEPT ![i] = CandidateSoft({i})]
    /\ UNCHANGED <<log, commitIndex, sm, ghostVars>>

\* Vote RPC from candidate i to j. With check-quorum, j ignores a higher-term
\* request while inside its lease. Otherwise a higher term makes j a
\* follower of that term; j grants if it has not voted for another candidate
\* in that term and i's log is up to date. j's term and vote are fsynced
\* before the response leaves, except in the VoteWithoutPersist mutant. A
\* quorum makes i leader, and it appends a no-op entry of its term.
RequestVote(i, j) ==
    /\ role(i) = Candidate
    /\ j \notin soft[i].votes
    /\ currentTerm[i] >= currentTerm[j]
    /\ currentTerm[i] > currentTerm[j] => ~soft[j].lease
    /\ LET t == currentTerm[i]
           oldVote == IF t > currentTerm[j] THEN Nil ELSE votedFor[j]
           jSoft == IF t > currentTerm[j] THEN FollowerSoft(FALSE) ELSE soft[j]
       IN IF oldVote \in {Nil, i} /\ LogUpToDate(i, j)
          THEN /\ SetHardStateForVote(j, t, i)
               /\ IF soft[i].votes \cup {j} \in Quorum
                  THEN /\ Len(log[i]) < MaxLogLen
                       /\ log' = [log EXCEPT ![i] = Append(log[i], t)]
                       /\ soft' = [soft EXCEPT
                             ![i] = LeaderSoft([s \in Server |->
                                       IF s = i THEN Len(log[i]) + 1 ELSE 0]),
                             ![j] = jSoft]
                  ELSE /\ soft' = [soft EXCEPT ![i].votes = @ \cup {j},
                                               ![j] = jSoft]
                       /\ UNCHANGED log
          ELSE \* Rejected. A higher term still makes j a follower of it.
               /\ t > currentTerm[j]
               /\ SetHardState(j, t, Nil)
               /\ soft' = [soft EXCEPT ![j] = jSoft]
               /\ UNCHANGED log
    /\ UNCHANGED <<commitIndex, sm, highWater>>

\* A client proposal reaches the leader (directly or forwarded).
ClientRequest(i) ==
    /\ role(i) = Leader
    /\ Len(log[i]) < MaxLogLen
    /\ log' = [log EXCEPT ![i] = Append(log[i], currentTerm[i])]
    /\ soft' = [soft EXCEPT ![i].match[i] = Len(log[i]) + 1]
    /\ UNCHANGED <<currentTerm, votedFor, hardVars, commitIndex, sm, ghostVars>>

\* Merge entries after prev into l: keep matching entries, truncate at the
\* first conflict, never truncate for an entry that is already present.
RECURSIVE Merge(_, _, _)
Merge(l, prev, es) ==
    IF es = <<>> THEN l
    ELSE IF Len(l) >= prev + 1 /\ l[prev + 1] = Head(es)
         THEN Merge(l, prev + 1, Tail(es))
         ELSE SubSeq(l, 1, prev) \o es

\* The leader's commit rule (raft-rs maybe_commit): the highest index held
\* by a quorum, if its entry is of the leader's own term. The
\* CommitOldTermByCounting mutant drops the term check.
NewCommit(i, match) ==
    LET Committable(k) ==
            /\ k > commitIndex[i]
            /\ {s \in Server : match[s] >= k} \in Quorum
            /\ \/ log[i][k] = currentTerm[i]
               \/ Mutant = "CommitOldTermByCounting"
        ks == {k \in 1..Len(log[i]) : Committable(k)}
    IN IF ks = {} THEN commitIndex[i] ELSE CHOOSE x \in ks : \A y \in ks : y <= x

\* Append RPC from leader i to j: entries prevIndex+1..last of i's log.
\* prevIndex ranges from j's known match up to i's last index (probing), and
\* last may stop short of i's last index (raft-rs splits a batch at
\* max_size_per_msg); prevIndex = last is a heartbeat. j, unless i's term is
\* older, becomes a follower of it and refreshes its lease; if its log
\* matches at prevIndex it merges the entries and fsyncs them, and only then
\* acks. The leader records the ack and may advance its commit index.
AppendEntries(i, j) ==
    /\ role(i) = Leader
    /\ currentTerm[i] >= currentTerm[j]
    /\ \E prev \in soft[i].match[j]..Len(log[i]), last \in 0..Len(log[i]) :
        LET prevTerm == IF prev = 0 THEN 0 ELSE log[i][prev]
            matches == prev = 0 \/ (prev <= Len(log[j]) /\ log[j][prev] = prevTerm)
            match == [soft[i].match EXCEPT ![j] = Max(@, last)]
            k == NewCommit(i, match)
        IN /\ prev <= last
           /\ ObserveTerm(j, currentTerm[i])
           /\ IF matches
              THEN /\ log' = [log EXCEPT ![j] =
                                 Merge(log[j], prev, SubSeq(log[i], prev + 1, last))]
                   /\ soft' = [soft EXCEPT ![i].match = match,
                                           ![j] = FollowerSoft(TRUE)]
                   \* j learns i's commit index (capped at what it now holds)
                   \* as it was when the request left; the ack then advances
                   \* i's.
                   /\ commitIndex' = [commitIndex EXCEPT
                         ![j] = Max(commitIndex[j], Min(commitIndex[i], last)),
                         ![i] = k]
              ELSE /\ soft' = [soft EXCEPT ![j] = FollowerSoft(TRUE)]
                   /\ UNCHANGED <<log, commitIndex>>
    /\ UNCHANGED <<sm, highWater>>

\* Apply the next committed entry to the state machine. The applied index
\* is written in the same DuckDB transaction (P3), so it is durable.
Apply(i) ==
    /\ Len(sm[i]) < commitIndex[i]
    /\ Len(sm[i]) < Len(log[i])
    /\ sm' = [sm EXCEPT ![i] = Append(sm[i], log[i][Len(sm[i]) + 1])]
    /\ highWater' = [highWater EXCEPT ![i] = Max(highWater[i], Len(sm[i]) + 1)]
    /\ UNCHANGED <<currentTerm, votedFor, hardVars, log, commitIndex, soft>>

\* The install guards; each mutant switches one off.
GroupOk(s) == s.group = ThisGroup \/ Mutant = "SnapshotNoGroupCheck"
ChecksumOk(s) == s.checksumOk \/ Mutant = "SnapshotNoChecksum"
NewerThanApplied(i, s) == s.index > Len(sm[i]) \/ Mutant = "SnapshotStaleInstall"

\* Node i is offered snapshot s. If the guards pass, it restores its state
\* machine from s, keeps its log only if the log holds s's last entry, and
\* raises its commit index to s's index. soft is left to the caller.
InstallSnapshot(i, s) ==
    /\ s.term >= currentTerm[i]
    /\ GroupOk(s) /\ ChecksumOk(s) /\ NewerThanApplied(i, s)
    /\ ObserveTerm(i, s.term)
    /\ log' = [log EXCEPT ![i] =
                 IF Len(log[i]) >= s.index /\ log[i][s.index] = s.data[s.index]
                 THEN log[i] ELSE s.data]
    /\ commitIndex' = [commitIndex EXCEPT ![i] = Max(commitIndex[i], s.index)]
    /\ sm' = [sm EXCEPT ![i] = s.data]
    /\ highWater' = [highWater EXCEPT ![i] = Max(highWater[i], s.index)]

\* Leader i sends j a snapshot of its applied state. The leader's applied
\* index may lag j's, so stale snapshots reach j in ordinary runs.
SendSnapshot(i, j) ==
    /\ role(i) = Leader
    /\ j # i
    /\ Len(sm[i]) > 0
    /\ currentTerm[i] >= currentTerm[j]
    /\ InstallSnapshot(j, [term |-> currentTerm[i], group |-> ThisGroup,
                           index |-> Len(sm[i]), data |-> sm[i],
                           checksumOk |-> TRUE])
    /\ soft' = [soft EXCEPT ![i].match[j] = Max(@, Len(sm[i])),
                            ![j] = FollowerSoft(TRUE)]

\* A forged (misrouted or corrupted) snapshot reaches node i.
ForgedSnapshot(i) ==
    /\ \E s \in ForgedSnapshots : InstallSnapshot(i, s)
    /\ soft' = [soft EXCEPT ![i] = FollowerSoft(FALSE)]

\* Crash and restart: SoftState is lost; HardState, the log and the state
\* machine are reloaded from disk.
Restart(i) ==
    /\ currentTerm' = [currentTerm EXCEPT ![i] = hardTerm[i]]
    /\ votedFor' = [votedFor EXCEPT ![i] = hardVote[i]]
    /\ soft' = [soft EXCEPT ![i] = FollowerSoft(FALSE)]
    /\ UNCHANGED <<hardVars, log, commitIndex, sm, ghostVars>>

\* The deferred fsync of a mutant that sent before persisting. Never
\* enabled in the implemented protocol, where HardState is always durable.
Persist(i) ==
    /\ <<hardTerm[i], hardVote[i]>> # <<currentTerm[i], votedFor[i]>>
    /\ hardTerm' = [hardTerm EXCEPT ![i] = currentTerm[i]]
    /\ hardVote' = [hardVote EXCEPT ![i] = votedFor[i]]
    /\ UNCHANGED <<currentTerm, votedFor, log, commitIndex, sm, soft, ghostVars>>

Next ==
    \E i \in Server :
        \/ Timeout(i)
        \/ PreVote(i)
        \/ CheckQuorumStepDown(i)
        \/ ClientRequest(i)
        \/ Apply(i)
        \/ Restart(i)
        \/ Persist(i)
        \/ ForgedSnapshot(i)
        \/ \E j \in Server \ {i} :
              \/ RequestVote(i, j)
              \/ AppendEntries(i, j)
              \/ SendSnapshot(i, j)

Spec == Init /\ [][Next]_vars

(***************************************************************************)
(* Invariants. The simulator checks the same properties under the same   *)
(* names.                                                                  *)
(***************************************************************************)
TypeOK ==
    /\ currentTerm \in [Server -> 0..MaxTerm]
    /\ hardTerm \in [Server -> 0..MaxTerm]
    /\ votedFor \in [Server -> Server \cup {Nil}]
    /\ hardVote \in [Server -> Server \cup {Nil}]
    /\ \A i \in Server :
          /\ role(i) \in {Follower, Candidate, Leader}
          /\ Len(log[i]) <= MaxLogLen
          /\ commitIndex[i] <= Len(log[i])
          /\ Len(sm[i]) <= commitIndex[i]

\* No two leaders of the same term.
ElectionSafety ==
    \A i, j \in Server :
        (i # j /\ role(i) = Leader /\ role(j) = Leader) =>
            currentTerm[i] # currentTerm[j]

\* Two logs with an entry of the same term at the same index are identical
\* up to that index.
LogMatching ==
    \A i, j \in Server :
        \A k \in 1..Min(Len(log[i]), Len(log[j])) :
            log[i][k] = log[j][k] =>
                SubSeq(log[i], 1, k) = SubSeq(log[j], 1, k)

\* The entries node j knows committed (up to its commit index) were
\* committed in a term <= j's term, so every leader of a later term holds
\* them.
LeaderCompleteness ==
    \A i, j \in Server :
        (role(i) = Leader /\ currentTerm[i] > currentTerm[j]) =>
            \A k \in 1..Min(commitIndex[j], Len(log[j])) :
                Len(log[i]) >= k /\ log[i][k] = log[j][k]

\* Leader Completeness, as a state invariant that does not wait for the
\* election: every node whose log would win the votes of a quorum (its own
\* and those of voters its log is up to date against) already holds every
\* entry any node knows committed. Committing an earlier-term entry by
\* counting replicas breaks this the moment it happens (Raft paper, fig. 8).
ElectableLogsHoldCommitted ==
    \A i, j \in Server :
        (\E Q \in Quorum : \A v \in Q : v = i \/ LogUpToDate(i, v)) =>
            \A k \in 1..Min(commitIndex[j], Len(log[j])) :
                Len(log[i]) >= k /\ log[i][k] = log[j][k]

\* Nodes agree on every index both know committed, and no two state
\* machines ever applied different entries at the same index.
StateMachineSafety ==
    \A i, j \in Server :
        /\ \A k \in 1..Min(Min(commitIndex[i], Len(log[i])),
                           Min(commitIndex[j], Len(log[j]))) :
              log[i][k] = log[j][k]
        /\ \A k \in 1..Min(Len(sm[i]), Len(sm[j])) : sm[i][k] = sm[j][k]

\* The applied index never moves backwards (a restored snapshot is newer).
AppliedIndexMonotonic ==
    \A i \in Server : Len(sm[i]) >= highWater[i]

\* Only verified snapshots of this group are installed: no node holds
\* foreign or corrupted state.
SnapshotInstallGuarded ==
    \A i \in Server : \A k \in 1..Len(sm[i]) : sm[i][k] # 0

\* Persist before send: every leader holds votes from a quorum whose
\* durable HardState still promises them (a restart cannot take one back).
VoteDurable ==
    \A i \in Server : role(i) = Leader =>
        \E Q \in Quorum : \A j \in Q :
            \/ hardTerm[j] > currentTerm[i]
            \/ hardTerm[j] = currentTerm[i] /\ hardVote[j] = i

Symmetry == Permutations(Server)
=============================================================================
