//! The request a log line is written for: its id, method and route, kept in a thread-local while the
//! request's future is polled, so that the line formats ([`super::format`]) print it on every line
//! written meanwhile, where a `request{request_id, method, route}` span would stand.
//!
//! Why not a tracing span: at the default level `info` a span is enabled, so every request would
//! pay for creating it, formatting its fields into a string, and entering and leaving it on every
//! poll, although a normal request writes no line at `info`. Here a request pays for moving its
//! context into the thread-local and back around each poll; the fields are formatted only when a
//! line is written.
//!
//! The context is moved, not cloned: [`scope`] swaps it in for the duration of a call and puts the
//! previous one back afterwards (also when the call panics), so nested scopes and other tasks later
//! polled on the same worker thread see the right request, or none. It does so only where the log
//! filter lets the request span through (an `info` span of target `vestibule_server::observe`, so
//! at `info`, `debug` and `trace`): at `warn` lines name no request, and a request costs one level
//! check per poll.
//!
//! Some code carries the current span to another thread: sqlx's SQLite driver takes
//! `Span::current()` with every command and enters it on its worker thread, where it logs the
//! statement. For such code [`RequestSpans`] wraps the subscriber and, when asked for the current
//! span inside a request and no span is entered, makes the `request` span then, once per request,
//! with the request's fields; so lines written there name the request too. A session check asks
//! for no span and makes none.

use std::cell::{Cell, RefCell};

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Method};
use tracing_core::callsite::{DefaultCallsite, Identifier};
use tracing_core::field::{display, FieldSet, Value};
use tracing_core::metadata::Kind;
use tracing_core::span::{Attributes, Current, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, Level, LevelFilter, Metadata, Subscriber};
use vestibule_core::ids::Guid;

use super::metrics::UNMATCHED;

/// What a log line names of the request it is written for. Nothing else (headers, bodies, query
/// strings) belongs here: they carry passwords, tokens and secrets.
#[derive(Debug)]
pub struct RequestContext {
    id: HeaderValue,
    method: Method,
    route: Route,
    /// The user the request turned out to be by, once its credential was checked (the access
    /// line names them).
    user: Cell<Option<Guid>>,
    /// The `request` span, once something asked for the current span (see [`RequestSpans`]).
    span: RequestSpan,
}

/// A route template: the one axum matched (shared, a clone is a reference count), or a fixed name
/// such as [`UNMATCHED`].
#[derive(Debug)]
enum Route {
    Matched(MatchedPath),
    Named(&'static str),
}

impl RequestContext {
    /// `route` is the template the request matched; `None` (a fallback) is named [`UNMATCHED`].
    pub fn new(id: HeaderValue, method: Method, route: Option<MatchedPath>) -> Self {
        let route = match route {
            Some(path) => Route::Matched(path),
            None => Route::Named(UNMATCHED),
        };
        RequestContext {
            id,
            method,
            route,
            user: Cell::new(None),
            span: RequestSpan(None),
        }
    }

    /// A context whose route is a fixed name rather than a template axum matched.
    #[cfg(test)]
    pub fn with_route_name(id: HeaderValue, method: Method, route: &'static str) -> Self {
        RequestContext {
            id,
            method,
            route: Route::Named(route),
            user: Cell::new(None),
            span: RequestSpan(None),
        }
    }

    /// The request id as text; empty if it is not visible ASCII (ids are checked or made so).
    pub fn request_id(&self) -> &str {
        self.id.to_str().unwrap_or_default()
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The route template, or [`UNMATCHED`].
    pub fn route(&self) -> &str {
        match &self.route {
            Route::Matched(path) => path.as_str(),
            Route::Named(name) => name,
        }
    }

    /// The user the request is by, if a credential was checked.
    pub fn user(&self) -> Option<Guid> {
        self.user.get()
    }

    /// The id, given back to the caller as `x-request-id` once the request is answered.
    pub fn into_id(self) -> HeaderValue {
        self.id
    }
}

thread_local! {
    static CURRENT: RefCell<Option<RequestContext>> = const { RefCell::new(None) };
}

/// Runs `f` with the context in `slot` current on this thread, then moves it back into `slot` and
/// makes the previous one current again. With `slot` empty, or where the log filter disables the
/// request span, `f` runs with the current context unchanged (as in a disabled span).
pub fn scope<R>(slot: &mut Option<RequestContext>, f: impl FnOnce() -> R) -> R {
    if slot.is_none() || !request_span_enabled() {
        return f();
    }
    let _restore = Restore::enter(slot);
    f()
}

/// Whether the filter lets the `request` span through, decided as `tracing::info_span!` decided
/// it: the level first (at `warn`, one atomic load), then the callsite's cached interest.
pub(super) fn request_span_enabled() -> bool {
    if !(Level::INFO <= tracing::level_filters::STATIC_MAX_LEVEL && Level::INFO <= LevelFilter::current()) {
        return false;
    }
    let interest = REQUEST_CALLSITE.interest();
    !interest.is_never()
        && (interest.is_always()
            || tracing_core::dispatcher::get_default(|dispatch| dispatch.enabled(&REQUEST_META)))
}

/// Notes that the request being served on this thread is by `user` (a handler calls it once the
/// credential was checked). Nothing happens outside a request, or where lines name no request.
pub fn note_user(user: Guid) {
    with_current(|c| {
        if let Some(c) = c {
            c.user.set(Some(user));
        }
    })
}

/// Calls `f` with the context current on this thread, if any.
pub fn with_current<R>(mut f: impl FnMut(Option<&RequestContext>) -> R) -> R {
    // A log line written while the thread-local is being torn down (or, impossibly, while it is
    // being swapped) gets no context rather than a panic.
    CURRENT
        .try_with(|current| current.try_borrow().ok().map(|ctx| f(ctx.as_ref())))
        .ok()
        .flatten()
        .unwrap_or_else(|| f(None))
}

/// Puts the context back where it came from when dropped, panics included.
struct Restore<'a> {
    slot: &'a mut Option<RequestContext>,
    /// The context that was current before; `None` inside when none was. The outer `None` means
    /// the thread-local could not be reached, so there is nothing to restore.
    previous: Option<Option<RequestContext>>,
}

impl<'a> Restore<'a> {
    fn enter(slot: &'a mut Option<RequestContext>) -> Self {
        let mut incoming = slot.take();
        let previous = CURRENT
            .try_with(|current| {
                current
                    .try_borrow_mut()
                    .ok()
                    .map(|mut c| std::mem::replace(&mut *c, incoming.take()))
            })
            .ok()
            .flatten();
        if previous.is_none() {
            // Not made current: keep it with its request.
            *slot = incoming;
        }
        Restore { slot, previous }
    }
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let Some(previous) = self.previous.take() else {
            return;
        };
        let ours = CURRENT.try_with(|current| {
            current
                .try_borrow_mut()
                .ok()
                .map(|mut c| std::mem::replace(&mut *c, previous))
        });
        if let Ok(Some(ours)) = ours {
            *self.slot = ours;
        }
    }
}

// === the request span, on demand ===

/// The span's callsite, as `tracing::info_span!("request", request_id, method, route)` would make
/// it. Its target is the one operators' filters name (docs/operations.md), not this module's path.
static REQUEST_CALLSITE: DefaultCallsite = DefaultCallsite::new(&REQUEST_META);
static REQUEST_META: Metadata<'static> = Metadata::new(
    "request",
    "vestibule_server::observe",
    Level::INFO,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(&["request_id", "method", "route"], Identifier(&REQUEST_CALLSITE)),
    Kind::SPAN,
);

/// Whether `meta` is the request span's: a formatter prints the request context only when the line
/// is not written inside that span already.
pub fn is_request_span(meta: &Metadata<'_>) -> bool {
    meta.callsite() == REQUEST_META.callsite()
}

/// The span made for a request, closed with it (a clone taken to another thread keeps it open).
#[derive(Debug)]
struct RequestSpan(Option<Id>);

impl Drop for RequestSpan {
    fn drop(&mut self) {
        if let Some(id) = self.0.take() {
            tracing_core::dispatcher::get_default(|dispatch| {
                dispatch.try_close(id.clone());
            });
        }
    }
}

/// A subscriber that hands out the current request as a span to code that asks for the current
/// span (and would carry it elsewhere); everything else goes to `inner` unchanged.
pub struct RequestSpans<S> {
    inner: S,
}

impl<S: Subscriber> RequestSpans<S> {
    pub fn new(inner: S) -> Self {
        // Registered here, not when first made: from inside a subscriber call, registering would
        // reach no subscriber under a scoped dispatcher (tracing guards against re-entry).
        REQUEST_CALLSITE.register();
        RequestSpans { inner }
    }

    /// The span for `request`, made now if it has none; `None` if the filter disables it .
    fn request_span(&self, request: &mut RequestContext) -> Option<Id> {
        if let Some(id) = &request.span.0 {
            return Some(id.clone());
        }
        if !self.inner.enabled(&REQUEST_META) {
            return None;
        }
        let fields = REQUEST_META.fields();
        let (Some(id_field), Some(method_field), Some(route_field)) = (
            fields.field("request_id"),
            fields.field("method"),
            fields.field("route"),
        ) else {
            return None;
        };
        // The id as text, method and route with `%` (`Display`).
        let request_id = request.request_id();
        let method = display(request.method());
        let route = display(request.route());
        let values = [
            (&id_field, Some(&request_id as &dyn Value)),
            (&method_field, Some(&method as &dyn Value)),
            (&route_field, Some(&route as &dyn Value)),
        ];
        let values = fields.value_set(&values);
        let id = self.inner.new_span(&Attributes::new(&REQUEST_META, &values));
        request.span.0 = Some(id.clone());
        Some(id)
    }
}

impl<S: Subscriber> Subscriber for RequestSpans<S> {
    fn current_span(&self) -> Current {
        let current = self.inner.current_span();
        if current.id().is_some() {
            return current;
        }
        let made = CURRENT.try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            self.request_span(slot.as_mut()?)
        });
        match made {
            Ok(Some(id)) => Current::new(id, &REQUEST_META),
            _ => current,
        }
    }

    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber)
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.inner.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner.record(span, values)
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows)
    }

    fn event_enabled(&self, event: &Event<'_>) -> bool {
        self.inner.event_enabled(event)
    }

    fn event(&self, event: &Event<'_>) {
        self.inner.event(event)
    }

    fn enter(&self, span: &Id) {
        self.inner.enter(span)
    }

    fn exit(&self, span: &Id) {
        self.inner.exit(span)
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subscriber that lets everything up to `max` through and records nothing.
    struct Upto(LevelFilter);

    impl Subscriber for Upto {
        fn max_level_hint(&self) -> Option<LevelFilter> {
            Some(self.0)
        }
        fn enabled(&self, meta: &Metadata<'_>) -> bool {
            *meta.level() <= self.0
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// `f` under a subscriber at `info`, where the request span was enabled.
    fn at_info<R>(f: impl FnOnce() -> R) -> R {
        tracing_core::dispatcher::with_default(&Dispatch::new(Upto(LevelFilter::INFO)), f)
    }

    fn ctx(id: &'static str) -> Option<RequestContext> {
        Some(RequestContext::with_route_name(
            HeaderValue::from_static(id),
            Method::GET,
            "/r",
        ))
    }

    fn current_id() -> Option<String> {
        with_current(|c| c.map(|c| c.request_id().to_string()))
    }

    #[test]
    fn a_scope_makes_its_context_current_and_gives_it_back() {
        at_info(|| {
            let mut slot = ctx("one");
            assert_eq!(current_id(), None);
            let seen = scope(&mut slot, current_id);
            assert_eq!(seen.as_deref(), Some("one"));
            assert_eq!(current_id(), None, "nothing current after the scope");
            let back = slot.expect("the context is back in its slot");
            assert_eq!(back.request_id(), "one");
            assert_eq!(back.route(), "/r");
            assert_eq!(back.method(), Method::GET);
        })
    }

    #[test]
    fn nested_scopes_restore_the_outer_context() {
        at_info(|| {
            let mut outer = ctx("outer");
            let mut inner = ctx("inner");
            let (before, during, after) = scope(&mut outer, || {
                let before = current_id();
                let during = scope(&mut inner, current_id);
                (before, during, current_id())
            });
            assert_eq!(before.as_deref(), Some("outer"));
            assert_eq!(during.as_deref(), Some("inner"));
            assert_eq!(after.as_deref(), Some("outer"));
            assert!(outer.is_some() && inner.is_some());
        })
    }

    #[test]
    fn an_empty_slot_leaves_the_outer_context() {
        at_info(|| {
            let mut outer = ctx("outer");
            let mut none = None;
            let during = scope(&mut outer, || scope(&mut none, current_id));
            assert_eq!(during.as_deref(), Some("outer"));
            assert!(none.is_none());
        })
    }

    #[test]
    fn at_warn_no_context_is_made_current() {
        let warn = Dispatch::new(Upto(LevelFilter::WARN));
        tracing_core::dispatcher::with_default(&warn, || {
            let mut slot = ctx("quiet");
            assert_eq!(scope(&mut slot, current_id), None);
            assert!(slot.is_some(), "the context stays with its request");
        })
    }

    #[test]
    fn a_panic_inside_a_scope_still_restores() {
        at_info(|| {
            let mut slot = ctx("boom");
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                scope(&mut slot, || panic!("inside"))
            }));
            assert!(caught.is_err());
            assert_eq!(current_id(), None);
            assert_eq!(slot.map(|c| c.into_id()), Some(HeaderValue::from_static("boom")));
        })
    }

    #[test]
    fn a_fallback_is_named_unmatched() {
        let c = RequestContext::new(HeaderValue::from_static("x"), Method::POST, None);
        assert_eq!(c.route(), UNMATCHED);
    }
}
