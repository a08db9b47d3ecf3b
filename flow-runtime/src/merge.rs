//! Shared-state graphs: every node takes and returns one state type, and the branches of
//! a merge join `split -> {a, b} -> next` are combined by [`Merge`].

/// Combines the state of a later branch into the state of an earlier one.
///
/// In `split -> {a, b, c} -> next`, each branch gets a clone of the state; when all are
/// done, `next` gets `a`'s output with `b`'s merged into it, then `c`'s: branches merge in
/// the order they are written, whatever order they finish in.
///
/// Derive it with `#[derive(Merge)]`, choosing a strategy per field with `#[merge(..)]`:
///
/// | attribute | the field after merging `later` into `self` |
/// |---|---|
/// | (none) or `#[merge(overwrite)]` | `later`'s value: the later branch wins |
/// | `#[merge(keep_first)]` | `self`'s value: the earlier branch wins |
/// | `#[merge(append)]` | `self`'s items, then `later`'s (any `Extend + IntoIterator`) |
/// | `#[merge(max)]` / `#[merge(min)]` | the larger / smaller of the two (`PartialOrd`) |
/// | `#[merge(with = path)]` | what `path(&mut self.field, later.field)` leaves |
///
/// ```
/// use typedflow::Merge;
///
/// fn longest(kept: &mut String, later: String) {
///     if later.len() > kept.len() {
///         *kept = later;
///     }
/// }
///
/// #[derive(Clone, Debug, PartialEq, Merge)]
/// struct Research {
///     #[merge(append)]
///     notes: Vec<String>,
///     #[merge(max)]
///     confidence: u8,
///     #[merge(keep_first)]
///     question: String,
///     #[merge(with = longest)]
///     summary: String,
///     last_source: Option<String>,
/// }
///
/// let mut a = Research {
///     notes: vec!["a".into()],
///     confidence: 3,
///     question: "q".into(),
///     summary: "short".into(),
///     last_source: Some("web".into()),
/// };
/// let b = Research {
///     notes: vec!["b".into()],
///     confidence: 7,
///     question: "q'".into(),
///     summary: "much longer".into(),
///     last_source: None,
/// };
/// a.merge(b);
/// assert_eq!(a.notes, ["a", "b"]);
/// assert_eq!(a.confidence, 7);
/// assert_eq!(a.question, "q");
/// assert_eq!(a.summary, "much longer");
/// assert_eq!(a.last_source, None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is the state of branches merged with `{{..}}`, so it must implement `Merge`",
    label = "the branches' states are merged into one",
    note = "derive it: `#[derive(Merge)]`, with `#[merge(append | keep_first | max | min | with = f)]` on fields"
)]
pub trait Merge {
    /// Merges `later`, the state of a branch written after this one, into `self`.
    fn merge(&mut self, later: Self);
}

/// The strategies `#[derive(Merge)]` expands to; usable by hand in a `Merge` impl.
pub mod strategy {
    /// The later value wins.
    #[inline]
    pub fn overwrite<T>(kept: &mut T, later: T) {
        *kept = later;
    }

    /// The earlier value wins.
    #[inline]
    pub fn keep_first<T>(_kept: &mut T, _later: T) {}

    /// The earlier items, then the later ones.
    #[inline]
    pub fn append<T: Extend<I> + IntoIterator<Item = I>, I>(kept: &mut T, later: T) {
        kept.extend(later);
    }

    /// The larger value; the earlier one when they are equal or unordered.
    #[inline]
    pub fn max<T: PartialOrd>(kept: &mut T, later: T) {
        if later > *kept {
            *kept = later;
        }
    }

    /// The smaller value; the earlier one when they are equal or unordered.
    #[inline]
    pub fn min<T: PartialOrd>(kept: &mut T, later: T) {
        if later < *kept {
            *kept = later;
        }
    }
}
