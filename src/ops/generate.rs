//! (in progress)
use super::{GlobalOpts, Loaded};
use crate::Error;

pub fn refuse_if_dirty(_loaded: &Loaded, _opts: &GlobalOpts) -> Result<(), Error> {
    Ok(())
}
