//! Shared-state graphs: every node takes and returns one state type, and the branches of
//! a merge join `split -> {a, b} -> next` are combined by [`Merge`].

/// Combines the states of the branches of a merge join, against the state before the
/// fan-out.
///
/// In `split -> {a, b, c} -> next`, each branch gets a clone of `split`'s state; when all
/// are done, `next` gets one state merged field by field. By default a field is merged
/// three ways, against its value before the fan-out: a field no branch changed keeps it,
/// a field one branch changed takes that change, and a field two branches changed to
/// different values is a [`MergeConflict`], which ends the run with
/// [`FlowError::MergeConflict`](crate::FlowError::MergeConflict). No branch's write is
/// lost to another branch's stale copy.
///
/// Derive it with `#[derive(Merge)]`; a field that several branches may change names a
/// strategy with `#[merge(..)]`, which folds the branches' values in written order:
///
/// | attribute | the field after merging |
/// |---|---|
/// | (none) | three ways against the state before the fan-out (needs `PartialEq`) |
/// | `#[merge(overwrite)]` | the last written branch's value |
/// | `#[merge(keep_first)]` | the first written branch's value |
/// | `#[merge(append)]` | every branch's items, in written order (any `Extend + IntoIterator`) |
/// | `#[merge(max)]` / `#[merge(min)]` | the largest / smallest value (`PartialOrd`) |
/// | `#[merge(with = path)]` | folded with `path(&mut merged, later)` |
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
///     #[merge(with = longest)]
///     summary: String,
///     question: String,
///     source: Option<String>,
/// }
///
/// let base = Research {
///     notes: vec![],
///     confidence: 0,
///     summary: String::new(),
///     question: "q".into(),
///     source: None,
/// };
/// let mut a = base.clone();
/// a.notes.push("a".into());
/// a.confidence = 3;
/// a.summary = "short".into();
/// a.source = Some("web".into()); // only `a` changes `source`
/// let mut b = base.clone();
/// b.notes.push("b".into());
/// b.confidence = 7;
/// b.summary = "much longer".into();
///
/// let merged = Research::merge(&base, vec![a, b]).unwrap();
/// assert_eq!(merged.notes, ["a", "b"]);
/// assert_eq!(merged.confidence, 7);
/// assert_eq!(merged.summary, "much longer");
/// assert_eq!(merged.question, "q");
/// assert_eq!(merged.source.as_deref(), Some("web"));
///
/// // Both change `question`, which names no strategy: a conflict, not a silent overwrite.
/// let (mut a, mut b) = (base.clone(), base.clone());
/// a.question = "a's".into();
/// b.question = "b's".into();
/// let conflict = Research::merge(&base, vec![a, b]).unwrap_err();
/// assert_eq!((conflict.field, conflict.branches), ("question", [0, 1]));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is the state of branches merged with `{{..}}`, so it must implement `Merge`",
    label = "the branches' states are merged into one",
    note = "derive it: `#[derive(Merge)]`, with `#[merge(append | keep_first | max | min | with = f)]` on fields"
)]
pub trait Merge: Clone {
    /// Merges `branches`, the states the branches returned in written order, against
    /// `base`, the state before the fan-out.
    ///
    /// # Errors
    ///
    /// [`MergeConflict`] when two branches changed a field that names no strategy to
    /// different values.
    fn merge(base: &Self, branches: Vec<Self>) -> Result<Self, MergeConflict>;
}

/// Two branches of a merge join changed one field to different values, and the field
/// names no merge strategy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("branches {} and {} (in written order, from 0) both changed field `{field}` to different values", branches[0], branches[1])]
#[non_exhaustive]
pub struct MergeConflict {
    /// The field.
    pub field: &'static str,
    /// The two branches, by position in the join, first written first.
    pub branches: [usize; 2],
}

impl MergeConflict {
    /// A conflict on `field` between the branches at positions `first` and `second`.
    pub fn new(field: &'static str, first: usize, second: usize) -> Self {
        MergeConflict {
            field,
            branches: [first, second],
        }
    }
}

/// The strategies `#[derive(Merge)]` expands to; usable by hand in a `Merge` impl.
pub mod strategy {
    use super::MergeConflict;

    /// The default: `values`, one per branch in written order, merged against `base`.
    /// Unchanged by every branch: `base`'s value; changed by one branch, or by several
    /// to one value: that value; changed by two to different values: a conflict.
    ///
    /// # Errors
    ///
    /// [`MergeConflict`] naming `field` and the first two branches that disagree.
    pub fn three_way<T: PartialEq + Clone>(
        base: &T,
        values: Vec<T>,
        field: &'static str,
    ) -> Result<T, MergeConflict> {
        let mut changed: Option<(usize, T)> = None;
        for (i, value) in values.into_iter().enumerate() {
            if value == *base {
                continue;
            }
            match &changed {
                Some((first, kept)) if *kept != value => {
                    return Err(MergeConflict::new(field, *first, i));
                }
                Some(_) => {}
                None => changed = Some((i, value)),
            }
        }
        Ok(changed.map_or_else(|| base.clone(), |(_, value)| value))
    }

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
