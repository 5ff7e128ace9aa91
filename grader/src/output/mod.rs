//! The last stages: what a grading run leaves. [`report`] is the scored result of one submission
//! (and its Gradescope form); [`gradebook`] and [`html`]'s dashboard read a folder of reports;
//! [`summary`] is what the terminal shows; [`files`] writes them. Dependencies point one way:
//! reports know nothing of pages or gradebooks.

pub mod deadline;
pub mod files;
pub mod gradebook;
pub mod gradescope;
pub mod html;
pub mod overrides;
pub mod prairielearn;
pub mod report;
pub mod roster;
pub mod schema;
pub mod summary;
pub mod table;
