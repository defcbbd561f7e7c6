//! Relay cursor connections over offset windows: `first/after/last/before`, `pageInfo` and
//! a `totalCount` that costs a COUNT query only when a client asks for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use std::borrow::Cow;

use async_graphql::connection::{
    ConnectionNameType, CursorType, DefaultConnectionName, Edge, EmptyFields, PageInfo,
};
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, ErrorExtensions, Object, OutputType, Positioned, ServerResult,
    TypeName, Value,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::db::AnyConnection;
use crate::error::Error;
use crate::error::GraphqlResult;
use crate::graphql::context::{read, state};
use crate::listing::Page;

/// An opaque cursor: the position of an edge in its ordered list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetCursor(pub i64);

/// The largest position a cursor may hold: far beyond any list, and far enough from
/// `i64::MAX` that the window arithmetic (`after + 1`, `before - last`) cannot overflow.
pub const MAX_CURSOR_OFFSET: i64 = i32::MAX as i64;

impl CursorType for OffsetCursor {
    type Error = Error;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let invalid = || Error::invalid("cursor", "not a cursor this API issued");
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let offset = text
            .strip_prefix("offset:")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| (0..=MAX_CURSOR_OFFSET).contains(n))
            .ok_or_else(invalid)?;
        Ok(OffsetCursor(offset))
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("offset:{}", self.0))
    }
}

type CountFuture = Pin<Box<dyn Future<Output = async_graphql::Result<i64>> + Send>>;

/// The connection's extra fields: `totalCount`, computed lazily and at most once.
pub struct Totals {
    count: Arc<dyn Fn() -> CountFuture + Send + Sync>,
    known: tokio::sync::OnceCell<i64>,
}

impl Totals {
    fn new(count: Arc<dyn Fn() -> CountFuture + Send + Sync>) -> Totals {
        Totals {
            count,
            known: tokio::sync::OnceCell::new(),
        }
    }

    fn known(total: i64) -> Totals {
        Totals {
            count: Arc::new(move || Box::pin(async move { Ok(total) })),
            known: tokio::sync::OnceCell::new_with(Some(total)),
        }
    }

    async fn get(&self) -> async_graphql::Result<i64> {
        self.known.get_or_try_init(|| (self.count)()).await.copied()
    }
}

#[Object]
impl Totals {
    /// How many items the whole list has, across all pages.
    async fn total_count(&self) -> async_graphql::Result<i64> {
        self.get().await
    }
}

/// The standard connection every list returns: async-graphql's `Connection` fields, in a type
/// of our own so that every `…Connection` type carries a description in the schema.
pub struct Paged<N: OutputType> {
    edges: Vec<Edge<OffsetCursor, N, EmptyFields>>,
    has_previous_page: bool,
    has_next_page: bool,
    totals: Totals,
}

/// One page of a list (a Relay cursor connection): its items as `edges` or `nodes`, `pageInfo`
/// to ask for the page before or after it, and `totalCount`.
#[Object(name_type)]
impl<N: OutputType> Paged<N> {
    /// Whether pages exist before and after this one, and the cursors to pass as `before` or
    /// `after` to fetch them.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|edge| edge.cursor.encode_cursor()),
            end_cursor: self.edges.last().map(|edge| edge.cursor.encode_cursor()),
        }
    }

    /// The items of this page, each with its cursor, in the list's order.
    async fn edges(&self) -> Items<&Edge<OffsetCursor, N, EmptyFields>> {
        Items(self.edges.iter().collect())
    }

    /// The items of this page without their cursors, in the list's order.
    async fn nodes(&self) -> Items<&N> {
        Items(self.edges.iter().map(|edge| &edge.node).collect())
    }

    #[graphql(flatten)]
    async fn totals(&self) -> &Totals {
        &self.totals
    }
}

/// A page's items: in the schema the list `Vec<T>` is, resolved without async-graphql's
/// per-item extension hooks. With any extension installed, async-graphql formats the list's
/// type names for every item (three `format!`s) and runs every extension's `resolve` on it (a
/// boxed future each), and ours let list items through untouched: the policy is checked per
/// field (`field_guard`), the trace spans are per root field (`telemetry`).
pub struct Items<T>(Vec<T>);

impl<T: OutputType> OutputType for Items<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let items = self.0.iter().enumerate().map(|(index, item)| {
            let ctx_item = ctx.with_index(index);
            async move {
                OutputType::resolve(item, &ctx_item, field)
                    .await
                    .map_err(|e| ctx_item.set_error_path(e))
            }
        });
        Ok(Value::List(
            futures_util::future::try_join_all(items).await?,
        ))
    }
}

impl<N: OutputType> TypeName for Paged<N> {
    fn type_name() -> Cow<'static, str> {
        DefaultConnectionName::type_name::<N>().into()
    }
}

/// The client's pagination arguments.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub after: Option<String>,
    pub before: Option<String>,
    pub first: Option<i32>,
    pub last: Option<i32>,
}

impl PageArgs {
    pub fn new(
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> PageArgs {
        PageArgs {
            after,
            before,
            first,
            last,
        }
    }
}

/// The page sizes a server applies, which the cost of a list depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    /// `default_page_size`: a list asked for without `first`/`last`.
    pub default: usize,
    /// `max_page_size`: no page holds more, whatever it asked for.
    pub max: usize,
}

tokio::task_local! {
    /// The serving schema's page sizes while async-graphql computes a query's complexity:
    /// its complexity functions are plain functions with no access to the settings.
    static PAGE_SIZES: PageSizes;
}

/// Runs `validation` (which computes complexity) knowing the server's page sizes.
pub async fn with_page_sizes<F: Future>(sizes: PageSizes, validation: F) -> F::Output {
    PAGE_SIZES.scope(sizes, validation).await
}

/// The cost of a connection field for the complexity limit: the page size the server will
/// apply times what each item costs, plus one for the field itself. The page size is the
/// smaller of `first` and `last`, else `default_page_size` (also for `after`/`before` alone,
/// see `window`), never above `max_page_size`. Saturates instead of overflowing, and stays
/// far below `usize::MAX` since async-graphql adds these figures up unchecked.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    const CEILING: usize = 1 << 40;
    // Outside a request (unit tests) nothing caps a page: assume the largest.
    let sizes = PAGE_SIZES.try_with(|s| *s).unwrap_or(PageSizes {
        default: crate::config::DEFAULT_PAGE_SIZE,
        max: usize::MAX,
    });
    let requested = match (first, last) {
        (Some(first), Some(last)) => Some(first.min(last)),
        (first, last) => first.or(last),
    };
    let size = requested.map_or(sizes.default, |n| {
        usize::try_from(n).unwrap_or(0).min(sizes.max)
    });
    size.saturating_mul(child_complexity)
        .saturating_add(1)
        .min(CEILING)
}

fn bad_arg(field: &str, message: String) -> async_graphql::Error {
    Error::invalid(field, message).extend()
}

fn page_size(value: Option<i32>, name: &str, max: usize) -> async_graphql::Result<Option<i64>> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(bad_arg(name, format!("`{name}` must not be negative"))),
        Some(n) if n as usize > max => Err(bad_arg(
            name,
            format!("`{name}` must be at most {max}; page through larger lists"),
        )),
        Some(n) => Ok(Some(i64::from(n))),
    }
}

fn decode(cursor: Option<&String>, name: &str) -> async_graphql::Result<Option<i64>> {
    cursor
        .map(|c| {
            OffsetCursor::decode_cursor(c)
                .map(|c| c.0)
                .map_err(|_| bad_arg(name, format!("`{name}` is not a cursor this API issued")))
        })
        .transpose()
}

/// The offset window the arguments select, and whether the page may continue past its end.
struct Window {
    page: Page,
    /// True when the window's end is bounded by `before`/`last`, not by `first`.
    bounded_end: bool,
}

async fn window(
    ctx: &Context<'_>,
    args: &PageArgs,
    totals: &Totals,
) -> async_graphql::Result<Window> {
    let settings = state(ctx);
    let first = page_size(args.first, "first", settings.max_page_size)?;
    let last = page_size(args.last, "last", settings.max_page_size)?;
    let after = decode(args.after.as_ref(), "after")?;
    let before = decode(args.before.as_ref(), "before")?;
    // `before` alone pages backwards by the default page size, never to the list's start:
    // page size and complexity hold whatever combination of arguments is given.
    let last = match (first, last, before) {
        (None, None, Some(_)) => Some(settings.default_page_size as i64),
        _ => last,
    };
    let mut start = after.map_or(0, |a| a + 1);
    let mut end = before;
    if let Some(last) = last {
        let end_value = match end {
            Some(e) => e,
            None => totals.get().await?,
        };
        end = Some(end_value);
        start = start.max(end_value - last);
    }
    let end_bound = end;
    let limit = match (first, end_bound) {
        (Some(first), Some(e)) => first.min(e - start),
        (Some(first), None) => first,
        (None, Some(e)) => e - start,
        (None, None) => settings.default_page_size as i64,
    };
    Ok(Window {
        page: Page {
            offset: start,
            limit: limit.max(0),
        },
        bounded_end: first.is_none() && end_bound.is_some(),
    })
}

/// A connection over a database list: `fetch` reads one window, `count` the total.
pub async fn paginate<N, R, F, FFut, C, CFut>(
    ctx: &Context<'_>,
    args: PageArgs,
    count: C,
    fetch: F,
) -> async_graphql::Result<Paged<N>>
where
    N: OutputType + From<R>,
    F: FnOnce(Page) -> FFut,
    FFut: Future<Output = async_graphql::Result<Vec<R>>>,
    C: Fn() -> CFut + Send + Sync + 'static,
    CFut: Future<Output = async_graphql::Result<i64>> + Send + 'static,
{
    let totals = Totals::new(Arc::new(move || Box::pin(count())));
    let w = window(ctx, &args, &totals).await?;
    // One extra row tells whether a next page exists without counting.
    let probe = Page {
        offset: w.page.offset,
        limit: if w.bounded_end {
            w.page.limit
        } else {
            w.page.limit + 1
        },
    };
    let mut rows = if w.page.limit == 0 {
        Vec::new()
    } else {
        fetch(probe).await?
    };
    let has_next = if w.bounded_end {
        args.before.is_some() || {
            let total = totals.get().await?;
            w.page.offset + w.page.limit < total
        }
    } else {
        rows.len() as i64 > w.page.limit
    };
    rows.truncate(w.page.limit as usize);
    Ok(build(w.page.offset, rows, has_next, totals))
}

/// A connection over a database list: `list` reads one window, `count` the total (only
/// when a client asks for `totalCount` or pages backwards from the end).
pub async fn paginate_db<N, R, C, L>(
    ctx: &Context<'_>,
    args: PageArgs,
    count: C,
    list: L,
) -> async_graphql::Result<Paged<N>>
where
    N: OutputType + From<R>,
    R: Send + 'static,
    C: Fn(&mut AnyConnection) -> crate::error::Result<i64> + Clone + Send + Sync + 'static,
    L: FnOnce(&mut AnyConnection, Page) -> crate::error::Result<Vec<R>> + Send + 'static,
{
    let db = state(ctx).db.clone();
    paginate(
        ctx,
        args,
        move || {
            let (db, count) = (db.clone(), count.clone());
            async move { db.run(count).await.gql() }
        },
        |page| read(ctx, move |c| list(c, page)),
    )
    .await
}

/// A connection over a list already in memory (a relation loaded through a DataLoader).
pub async fn paginate_loaded<N, R>(
    ctx: &Context<'_>,
    args: PageArgs,
    rows: Vec<R>,
) -> async_graphql::Result<Paged<N>>
where
    N: OutputType + From<R>,
{
    let total = rows.len() as i64;
    let totals = Totals::known(total);
    let w = window(ctx, &args, &totals).await?;
    let start = w.page.offset.min(total);
    let end = (start + w.page.limit).min(total);
    let has_next = end < total;
    let slice: Vec<R> = rows
        .into_iter()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect();
    Ok(build(start, slice, has_next, totals))
}

fn build<N, R>(offset: i64, rows: Vec<R>, has_next: bool, totals: Totals) -> Paged<N>
where
    N: OutputType + From<R>,
{
    Paged {
        edges: rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| Edge::new(OffsetCursor(offset + i as i64), N::from(row)))
            .collect(),
        has_previous_page: offset > 0,
        has_next_page: has_next,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_complexity_multiplies_by_the_page_size() {
        assert_eq!(page_complexity(Some(10), None, 3), 31);
        assert_eq!(page_complexity(None, Some(4), 3), 13);
        assert_eq!(page_complexity(Some(10), Some(4), 3), 13);
        assert_eq!(
            page_complexity(None, None, 2),
            2 * crate::config::DEFAULT_PAGE_SIZE + 1
        );
        assert_eq!(page_complexity(Some(-5), None, 3), 1);
        assert_eq!(page_complexity(Some(i32::MAX), None, usize::MAX), 1 << 40);
    }

    #[tokio::test]
    async fn page_complexity_counts_the_servers_page_sizes() {
        let sizes = PageSizes {
            default: 200,
            max: 300,
        };
        let costs = with_page_sizes(sizes, async {
            [
                page_complexity(None, None, 2),
                page_complexity(Some(5000), None, 2),
                page_complexity(Some(400), Some(250), 2),
            ]
        })
        .await;
        assert_eq!(costs, [401, 601, 501]);
    }

    #[test]
    fn cursors_out_of_range_are_refused() {
        let cursor = |n: i64| URL_SAFE_NO_PAD.encode(format!("offset:{n}"));
        assert_eq!(
            OffsetCursor::decode_cursor(&cursor(MAX_CURSOR_OFFSET)).ok(),
            Some(OffsetCursor(MAX_CURSOR_OFFSET))
        );
        assert!(OffsetCursor::decode_cursor(&cursor(MAX_CURSOR_OFFSET + 1)).is_err());
        assert!(OffsetCursor::decode_cursor(&cursor(i64::MAX)).is_err());
        assert!(OffsetCursor::decode_cursor(&cursor(-1)).is_err());
    }
}
