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
//! and the stop.
//!
//! A cluster node sleeps in async-io's reactor as before (`Waiting::Reactor`), beside its Redis
//! tasks: its tasks' timing (the appender against a Redis that went away, the reader's news) is
//! what its tests hold it to, and a node is not where logins are cheapest anyway.

use std::io;
use std::os::fd::OwnedFd;
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
        ex: &LocalExecutor<'static>,
        deadline: Option<Instant>,
        input: Option<EventListener>,
        reports: &smol::channel::Receiver<io::Result<u64>>,
        stop: &smol::channel::Receiver<()>,
        sockets: bool,
    ) -> Woke {
        match self {
            Waiting::Direct { waker } => {
                // Everything that is not a socket rings the doorbell from now on: a task woken (by
                // another thread, through the executor), the commit thread's report, the stop.
                // Each is looked at once here, so that what came before the sleep is not slept
                // through.
                let woke = async {
                    ex.tick().await;
                    Woke::Look
                }
                .or(async {
                    match reports.recv().await {
                        Ok(report) => Woke::Committed(report),
                        // The thread is gone: `try_next` reports that at the top of the loop.
                        Err(_) => Woke::Look,
                    }
                })
                .or(async {
                    let _ = stop.recv().await;
                    Woke::Stop
                });
                let mut woke = std::pin::pin!(woke);
                if let Poll::Ready(woke) = woke.as_mut().poll(&mut Context::from_waker(waker)) {
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
