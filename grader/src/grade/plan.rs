//! Which checks a run includes, and which of them share a judge process.

use crate::catalog::{self, Check, CheckId, Exercise};
use anyhow::{Result, bail};

/// The checks to run, in catalog order: the selection plus everything it depends on. `only` names
/// checks (`he_init.layers`) or whole exercises (`he_init`: its checks selected by `hidden`).
pub fn plan(hidden: bool, only: &[String]) -> Result<Vec<&'static Check>> {
    let mut wanted: Vec<CheckId> = Vec::new();
    for id in only {
        match (catalog::find(id), Exercise::ALL.iter().find(|e| e.id() == id)) {
            (Some(check), _) => wanted.push(check.id),
            (None, Some(&exercise)) => {
                wanted.extend(catalog::selected(hidden).filter(|c| c.exercise == exercise).map(|c| c.id))
            }
            (None, None) => bail!("there is no check or exercise {id:?}; `grader list` shows them"),
        }
    }
    if only.is_empty() {
        wanted = catalog::selected(hidden).map(|c| c.id).collect();
    }
    let mut i = 0;
    while i < wanted.len() {
        let check = catalog::row(wanted[i]).expect("selected from the catalog");
        for &dep in check.after.iter().chain(check.reported_by.iter()) {
            if !wanted.contains(&dep) {
                wanted.push(dep);
            }
        }
        i += 1;
    }
    Ok(catalog::CHECKS.iter().filter(|c| wanted.contains(&c.id)).collect())
}

/// The checks of `planned` that get a process of their own, in order, as groups that share one:
/// consecutive checks of one exercise that run student code, need no other check's artifacts and
/// report for no other check.
pub(super) fn process_groups(planned: &[&'static Check]) -> Vec<Vec<&'static Check>> {
    let groupable =
        |c: &Check| c.after.is_none() && !c.test_split && !planned.iter().any(|other| other.reported_by == Some(c.id));
    let mut groups: Vec<Vec<&'static Check>> = Vec::new();
    for &check in planned.iter().filter(|c| c.reported_by.is_none()) {
        match groups.last_mut() {
            Some(group) if groupable(check) && group.iter().all(|g| groupable(g) && g.exercise == check.exercise) => {
                group.push(check)
            }
            _ => groups.push(vec![check]),
        }
    }
    groups
}
