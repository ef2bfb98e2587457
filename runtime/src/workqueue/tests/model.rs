//! Model-based test: random interleavings of the operations of many producers and
//! workers (add, add_after, get, done, clock advance, shutdown, drain), checked step by
//! step against a plain sequential model of client-go's semantics.
//!
//! A `get` that would wait is polled once and dropped, so cancellation is part of every
//! interleaving. After each step the queue's internal invariants are checked too
//! (`WorkQueue::check_invariants`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use tokio::runtime::Runtime;

use super::now_or_never;
use crate::workqueue::WorkQueue;

type Key = u8;
const KEYS: Key = 5;

#[derive(Clone, Debug)]
enum Step {
    Add(Key),
    AddAfter(Key, u64),
    Get,
    Done(Key),
    Advance(u64),
    ShutDown,
    Drain,
}

/// What the model says the last step must return.
#[derive(Clone, Debug, PartialEq)]
enum Expected {
    Nothing,
    /// `get` returns this key at once.
    Key(Key),
    /// `get` waits.
    Waits,
    /// `get` returns `None`.
    Closed,
    /// `shut_down_with_drain` completes at once (true) or waits (false).
    Drained(bool),
}

#[derive(Clone, Debug, Default)]
struct Model {
    now_ms: u64,
    queue: VecDeque<Key>,
    dirty: BTreeSet<Key>,
    processing: BTreeSet<Key>,
    /// Delayed keys: ready time and insertion order, which breaks ties.
    delayed: BTreeMap<Key, (u64, u64)>,
    next_seq: u64,
    shut_down: bool,
    draining: bool,
    expected: Option<Expected>,
}

impl Model {
    fn add(&mut self, key: Key) {
        if self.shut_down || !self.dirty.insert(key) {
            return;
        }
        if !self.processing.contains(&key) {
            self.queue.push_back(key);
        }
    }

    fn get(&mut self) -> Expected {
        if self.shut_down && !self.draining {
            return Expected::Closed;
        }
        if let Some(key) = self.queue.pop_front() {
            self.dirty.remove(&key);
            self.processing.insert(key);
            return Expected::Key(key);
        }
        let dirty_in_flight = self.dirty.iter().any(|k| self.processing.contains(k));
        if self.shut_down && !dirty_in_flight {
            Expected::Closed
        } else {
            Expected::Waits
        }
    }

    fn done(&mut self, key: Key) {
        if self.processing.remove(&key) && self.dirty.contains(&key) {
            self.queue.push_back(key);
        }
    }

    fn add_after(&mut self, key: Key, delay_ms: u64) {
        if self.shut_down {
            return;
        }
        if delay_ms == 0 {
            return self.add(key);
        }
        let at = self.now_ms + delay_ms;
        // The earlier ready time wins.
        if self
            .delayed
            .get(&key)
            .is_some_and(|&(current, _)| current <= at)
        {
            return;
        }
        self.delayed.insert(key, (at, self.next_seq));
        self.next_seq += 1;
    }

    fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
        let mut due: Vec<(u64, u64, Key)> = self
            .delayed
            .iter()
            .filter(|(_, (at, _))| *at <= self.now_ms)
            .map(|(&key, &(at, seq))| (at, seq, key))
            .collect();
        due.sort_unstable();
        for (_, _, key) in due {
            self.delayed.remove(&key);
            self.add(key);
        }
    }

    fn shut_down(&mut self) {
        self.shut_down = true;
        self.draining = false;
        self.queue.clear();
        self.dirty.clear();
        self.delayed.clear();
    }

    fn drain(&mut self) -> Expected {
        if !self.shut_down {
            self.shut_down = true;
            self.draining = true;
            self.delayed.clear();
        }
        Expected::Drained(!self.draining || (self.processing.is_empty() && self.queue.is_empty()))
    }
}

struct QueueModel;

impl ReferenceStateMachine for QueueModel {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::default()).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let key = 0..KEYS;
        let any = prop_oneof![
            8 => key.clone().prop_map(Step::Add),
            4 => (key.clone(), 0..30u64).prop_map(|(k, ms)| Step::AddAfter(k, ms)),
            8 => Just(Step::Get),
            1 => key.prop_map(Step::Done),
            3 => (1..25u64).prop_map(Step::Advance),
            1 => Just(Step::ShutDown),
            1 => Just(Step::Drain),
        ];
        if state.processing.is_empty() {
            any.boxed()
        } else {
            // Workers mostly finish keys they hold.
            let held: Vec<Key> = state.processing.iter().copied().collect();
            prop_oneof![3 => any, 2 => select(held).prop_map(Step::Done)].boxed()
        }
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        state.expected = Some(match *step {
            Step::Add(key) => {
                state.add(key);
                Expected::Nothing
            }
            Step::AddAfter(key, ms) => {
                state.add_after(key, ms);
                Expected::Nothing
            }
            Step::Get => state.get(),
            Step::Done(key) => {
                state.done(key);
                Expected::Nothing
            }
            Step::Advance(ms) => {
                state.advance(ms);
                Expected::Nothing
            }
            Step::ShutDown => {
                state.shut_down();
                Expected::Nothing
            }
            Step::Drain => state.drain(),
        });
        state
    }
}

struct Subject {
    runtime: Runtime,
    queue: WorkQueue<Key>,
}

impl StateMachineTest for QueueModel {
    type SystemUnderTest = Subject;
    type Reference = QueueModel;

    fn init_test(_: &Model) -> Subject {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        Subject {
            runtime,
            queue: WorkQueue::new(),
        }
    }

    fn apply(subject: Subject, model: &Model, step: Step) -> Subject {
        let q = &subject.queue;
        // Inside the runtime, so the queue reads the paused clock.
        let actual = subject.runtime.block_on(async {
            match step {
                Step::Add(key) => q.add(key),
                Step::AddAfter(key, ms) => q.add_after(key, Duration::from_millis(ms)),
                Step::Get => {
                    return match now_or_never(q.get()) {
                        Some(Some(key)) => Expected::Key(key),
                        Some(None) => Expected::Closed,
                        None => Expected::Waits,
                    };
                }
                Step::Done(key) => q.done(&key),
                Step::Advance(ms) => tokio::time::advance(Duration::from_millis(ms)).await,
                Step::ShutDown => q.shut_down(),
                Step::Drain => {
                    return Expected::Drained(now_or_never(q.shut_down_with_drain()).is_some());
                }
            }
            Expected::Nothing
        });
        assert_eq!(Some(actual), model.expected, "after {step:?}");
        subject
    }

    fn check_invariants(subject: &Subject, model: &Model) {
        let q = &subject.queue;
        subject.runtime.block_on(async {
            q.check_invariants();
            assert_eq!(q.len(), model.queue.len(), "queued keys");
            assert_eq!(q.delayed_len(), model.delayed.len(), "delayed keys");
            assert_eq!(q.is_shutting_down(), model.shut_down);
        });
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn model_interleavings_match_the_sequential_model(sequential 1..80 => QueueModel);
}
