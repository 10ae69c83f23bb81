//! The engine's long-running tasks kept alive. A task that panics (a bug, a value nobody
//! foresaw) is logged, the user is told in the window, and it starts again after a pause
//! that doubles while it keeps failing — a silent escalation ladder is worse than a noisy one.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use super::Engine;

/// The pause before the first restart; each panic in a row doubles it, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// A run this long counts as healthy: the next panic starts over with a short pause and a
/// new notice.
const HEALTHY_RUN: Duration = Duration::from_secs(300);

/// A future whose panic is caught and returned, like `futures::FutureExt::catch_unwind`
/// (not a dependency of this crate for these few lines). The task runs inside the
/// supervisor's own task, so aborting the supervisor (a monitor removed, the engine shut
/// down) stops it at once, and `shutdown` still waits for it.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self.0.as_mut();
        // After a panic the future is dropped, never polled again: nothing half-updated
        // inside it is seen. State it shares is behind mutexes that recover from poisoning.
        match catch_unwind(AssertUnwindSafe(|| task.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// What a panic said, for the log and the notice.
fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

impl Engine {
    /// Runs `run(engine)` until it returns, starting it again whenever it panics. `what`
    /// names the task for people ("the escalation ladder"). The returned future is the
    /// supervisor: spawn it where the task itself would have been spawned.
    pub(super) fn supervised<F, Fut>(
        &self,
        what: impl Into<String>,
        run: F,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        F: Fn(Engine) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let engine = self.clone();
        let what = what.into();
        async move {
            let mut pause = FIRST_PAUSE;
            let mut told = false;
            loop {
                let started = Instant::now();
                let Err(payload) = CatchPanic(Box::pin(run(engine.clone()))).await else {
                    return;
                };
                if started.elapsed() >= HEALTHY_RUN {
                    pause = FIRST_PAUSE;
                    told = false;
                }
                let why = panic_text(&*payload).to_owned();
                drop(payload);
                tracing::error!(
                    task = %what,
                    panic = %why,
                    restart_in = ?pause,
                    "a task stopped on an internal error; restarting it"
                );
                if !std::mem::replace(&mut told, true) {
                    engine.add_notice(format!(
                        "An internal error stopped {what} ({why}); it was restarted. \
                         If this happens again, the log has the details."
                    ));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}
