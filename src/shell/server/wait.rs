//! How the driver sleeps when a turn found nothing to do, until the server's next deadline, a socket,
//! or anything else that needs it.
//!
//! A server alone sleeps in the readiness loop's own `epoll_wait` (`Waiting::Direct`), the deadline
//! as its timeout: one system call per sleep, where async-io's wait also re-armed the epoll set's
//! descriptor in its reactor (`epoll_ctl`) and its timerfd (`timerfd_settime`) before each one, and
//! read its eventfd after. The other tasks (the operator's control socket, the metrics listener's
//! questions, the password workers' answers) run on the thread's executor between turns; their
//! sockets and timers are watched by async-io's own thread, whose wake-ups reach the driver through
//! the executor's waker, which is the driver's doorbell (`bell`), as do the commit thread's reports
//! and the stop. What waits for those three is kept registered from one sleep to the next until one
//! of them comes (registering and unregistering it around every sleep cost more than the rest of
//! an idle turn); so one that comes while the driver is awake rings the doorbell too, and costs
//! the driver one more look before its next sleep.
//!
//! A cluster node sleeps in async-io's reactor as before (`Waiting::Reactor`), beside its Redis
//! tasks: its tasks' timing (the appender against a Redis that went away, the reader's news) is
//! what its tests hold it to, and a node is not where logins are cheapest anyway.

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use async_io::Async;
use event_listener::EventListener;
use futures_lite::FutureExt;

use smol::LocalExecutor;

use super::readiness::Readiness;

/// Where the driver sleeps.
pub(super) enum Waiting {
    /// In the readiness loop's `epoll_wait`; the thread is in no async runtime's `block_on`.
    Direct {
        /// The doorbell as a waker, for what is not a socket.
        waker: Waker,
        /// What ends a sleep besides the sockets (a task woken, a commit report, the stop), kept
        /// from one sleep to the next until one of them comes. Made anew for every sleep, it
        /// registered with the executor and both channels and unregistered again after each wait:
        /// about 1,700 instructions a sleep, more than the rest of an idle turn. Kept, it stays
        /// registered, and a sleep only asks it again (a few hundred). While the driver is awake,
        /// what comes still rings the doorbell, which the next turn answers.
        others: Option<Pin<Box<dyn Future<Output = Woke>>>>,
    },
    /// In async-io's reactor, as one future of the thread's `block_on`.
    Reactor {
        /// The epoll set's descriptor (a duplicate), readable while something in it is ready.
        epoll: Async<OwnedFd>,
        /// The one OS timer, kept across waits and moved only when the earliest deadline changes:
        /// each new registration makes the reactor wake up once for nothing.
        alarm: smol::Timer,
        /// What `alarm` is set to (`None`: never, or it has fired).
        alarm_at: Option<Instant>,
    },
}

impl Waiting {
    pub(super) fn direct(readiness: &Readiness) -> Waiting {
        Waiting::Direct {
            waker: Waker::from(readiness.bell().clone()),
            others: None,
        }
    }

    pub(super) fn reactor(readiness: &Readiness) -> io::Result<Waiting> {
        Ok(Waiting::Reactor {
            epoll: Async::new(readiness.epoll_fd()?)?,
            alarm: smol::Timer::never(),
            alarm_at: None,
        })
    }

    /// Whether the driver runs the other tasks itself, between turns (it sleeps in its own wait).
    pub(super) fn direct_now(&self) -> bool {
        matches!(self, Waiting::Direct { .. })
    }

    /// Lets go of what a server alone kept registered between sleeps, before the thread runs its
    /// executor in another way (an `ex.run` while the disk is waited for, the shutdown): a ticker
    /// kept registered but not polled must not be the one the executor wakes for a task.
    pub(super) fn let_go(&mut self) {
        if let Waiting::Direct { others, .. } = self {
            *others = None;
        }
    }
}

/// What ended a sleep.
pub(super) enum Woke {
    /// Something to look at: a socket, an input, a task that ran, a deadline.
    Look,
    /// The server is to stop.
    Stop,
    /// The commit thread's report.
    Committed(io::Result<u64>),
}

impl Waiting {
    /// Sleeps until `deadline` (`None`: none), a socket of `readiness` (only with `sockets`; a
    /// reactor's wait may leave them out, while the server holds its reading, and they are looked at
    /// after it), a task's input (`input`: the reactor's waiter for it; a task of `ex` woken), a
    /// commit report from `reports`, or `stop`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn sleep(
        &mut self,
        readiness: &mut Readiness,
        ex: &Rc<LocalExecutor<'static>>,
        deadline: Option<Instant>,
        input: Option<EventListener>,
        reports: &smol::channel::Receiver<io::Result<u64>>,
        stop: &smol::channel::Receiver<()>,
        sockets: bool,
    ) -> Woke {
        match self {
            Waiting::Direct { waker, others } => {
                // Everything that is not a socket rings the doorbell from now on: a task woken (by
                // another thread, through the executor), the commit thread's report, the stop.
                // Each is looked at once here, so that what came before the sleep is not slept
                // through.
                let woke = others.get_or_insert_with(|| Box::pin(other_wakes(ex, reports, stop)));
                if let Poll::Ready(woke) = woke.as_mut().poll(&mut Context::from_waker(waker)) {
                    *others = None;
                    return woke;
                }
                let timeout = deadline.map(|at| at.saturating_duration_since(Instant::now()));
                readiness.sleep(timeout);
                Woke::Look
            }
            Waiting::Reactor {
                epoll,
                alarm,
                alarm_at,
            } => {
                enum Wake {
                    Input,
                    Timer,
                    Stop,
                    Committed(io::Result<u64>),
                    Sockets,
                }
                // Only ever moved earlier: an alarm that rings too early just finds nothing due and
                // is set again, which is cheaper than moving it each time a connection's deadline
                // comes or goes.
                if let Some(at) = deadline
                    && alarm_at.is_none_or(|armed| at < armed)
                {
                    alarm.set_at(at);
                    *alarm_at = Some(at);
                }
                let input = async {
                    match input {
                        Some(listener) => listener.await,
                        None => std::future::pending().await,
                    }
                    Wake::Input
                };
                let timer = async {
                    alarm.await;
                    Wake::Timer
                };
                let stopping = async {
                    let _ = stop.recv().await;
                    Wake::Stop
                };
                let sockets = async {
                    if sockets {
                        let _ = epoll.readable().await;
                    } else {
                        // Edges that come meanwhile stay in the set for the next look.
                        std::future::pending::<()>().await;
                    }
                    Wake::Sockets
                };
                let committed = async {
                    match reports.recv().await {
                        Ok(report) => Wake::Committed(report),
                        // The thread is gone: `try_next` reports that at the top of the loop.
                        Err(_) => Wake::Input,
                    }
                };
                match input.or(timer).or(sockets).or(committed).or(stopping).await {
                    Wake::Stop => Woke::Stop,
                    Wake::Committed(report) => Woke::Committed(report),
                    Wake::Timer => {
                        *alarm_at = None;
                        Woke::Look
                    }
                    Wake::Input | Wake::Sockets => Woke::Look,
                }
            }
        }
    }
}

/// What ends a server alone's sleep besides its sockets: a task of `ex` run (one woken by another
/// thread), the commit thread's report (or its end), the stop. Owns what it waits on, so that it
/// can be kept from one sleep to the next.
fn other_wakes(
    ex: &Rc<LocalExecutor<'static>>,
    reports: &smol::channel::Receiver<io::Result<u64>>,
    stop: &smol::channel::Receiver<()>,
) -> impl Future<Output = Woke> + 'static {
    let (ex, reports, stop) = (ex.clone(), reports.clone(), stop.clone());
    async move {
        ex.tick().await;
        Woke::Look
    }
    .or(async move {
        match reports.recv().await {
            Ok(report) => Woke::Committed(report),
            // The thread is gone: `try_next` reports that at the top of the loop.
            Err(_) => Woke::Look,
        }
    })
    .or(async move {
        let _ = stop.recv().await;
        Woke::Stop
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A server alone's sleep, as the driver takes it: what ended it.
    fn sleep_once(
        waiting: &mut Waiting,
        readiness: &mut Readiness,
        ex: &Rc<LocalExecutor<'static>>,
        reports: &smol::channel::Receiver<io::Result<u64>>,
        stop: &smol::channel::Receiver<()>,
        timeout: Option<Duration>,
    ) -> Woke {
        let deadline = timeout.map(|t| Instant::now() + t);
        futures_lite::future::block_on(
            waiting.sleep(readiness, ex, deadline, None, reports, stop, true),
        )
    }

    fn kind(woke: &Woke) -> String {
        match woke {
            Woke::Look => "look".into(),
            Woke::Stop => "stop".into(),
            Woke::Committed(Ok(seq)) => format!("committed {seq}"),
            Woke::Committed(Err(e)) => format!("commit failed: {e}"),
        }
    }

    /// The deadline of a sleep that something else is to end: a wake-up that is lost shows as a
    /// sleep that lasted this long (the thing is then taken all the same, when the deadline ends
    /// it), so each such sleep is held to [`PROMPT`].
    const LATE: Duration = Duration::from_secs(10);

    /// How soon what comes from another thread must have ended the sleeps it woke.
    const PROMPT: Duration = Duration::from_secs(5);

    /// Sleeps again while a sleep ends with nothing to take (the doorbell rung for what the next
    /// sleep takes, or for a report taken already: the driver takes another turn then), at most
    /// 20 times, and checks that the doorbell, not the deadline, ended them.
    fn until_not_look(sleep: &mut impl FnMut(Option<Duration>) -> Woke) -> Woke {
        let began = Instant::now();
        for _ in 0..20 {
            let woke = sleep(Some(LATE));
            if !matches!(woke, Woke::Look) {
                assert!(began.elapsed() < PROMPT, "the wake-up was lost");
                return woke;
            }
        }
        panic!("20 sleeps in a row ended with nothing to take");
    }

    /// What a server alone keeps registered between sleeps still ends each later sleep when its
    /// event comes from another thread (a commit report, a task's wake-up, the stop), in turn and
    /// more than once, and a sleep with nothing to wake it ends at its deadline.
    #[test]
    fn what_is_kept_between_sleeps_still_wakes_each_one() {
        let mut readiness = Readiness::new(Vec::new(), None, true, 1024, 1 << 20).unwrap();
        let mut waiting = Waiting::direct(&readiness);
        let ex = Rc::new(LocalExecutor::new());
        let (report_tx, reports) = smol::channel::unbounded::<io::Result<u64>>();
        let (stop_tx, stop) = smol::channel::unbounded::<()>();
        let mut sleep =
            |timeout| sleep_once(&mut waiting, &mut readiness, &ex, &reports, &stop, timeout);

        // Nothing comes: the deadline ends it, and then again.
        for _ in 0..2 {
            let began = Instant::now();
            assert_eq!(kind(&sleep(Some(Duration::from_millis(30)))), "look");
            assert!(began.elapsed() >= Duration::from_millis(30));
        }
        // A report sent before the sleep is taken at once.
        report_tx.try_send(Ok(1)).unwrap();
        assert_eq!(kind(&sleep(None)), "committed 1");
        // Reports from another thread while asleep, twice: each ends its sleep (the doorbell),
        // and the sleep after takes it.
        for seq in [2, 3] {
            let tx = report_tx.clone();
            let sender = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                tx.try_send(Ok(seq)).unwrap();
            });
            assert_eq!(
                kind(&until_not_look(&mut sleep)),
                format!("committed {seq}")
            );
            sender.join().unwrap();
        }
        // A task woken by another thread: the executor's wake-up ends the sleep, and the task runs.
        let (task_tx, task_rx) = smol::channel::unbounded::<u32>();
        let ran = Rc::new(std::cell::Cell::new(0));
        let seen = ran.clone();
        ex.spawn(async move {
            while let Ok(n) = task_rx.recv().await {
                seen.set(seen.get() + n);
            }
        })
        .detach();
        while ex.try_tick() {}
        for n in [1, 2] {
            let tx = task_tx.clone();
            let sender = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                tx.try_send(n).unwrap();
            });
            let before = ran.get();
            let began = Instant::now();
            while ran.get() == before {
                let woke = sleep(Some(LATE));
                assert_eq!(kind(&woke), "look");
                while ex.try_tick() {}
            }
            assert!(began.elapsed() < PROMPT, "the task's wake-up was lost");
            sender.join().unwrap();
        }
        assert_eq!(ran.get(), 3);
        // The stop, from another thread.
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            stop_tx.try_send(()).unwrap();
        });
        assert_eq!(kind(&until_not_look(&mut sleep)), "stop");
        sender.join().unwrap();
    }
}
