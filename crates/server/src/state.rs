//! The state every handler gets.

use std::sync::Arc;

use vestibule_core::Core;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
}

impl AppState {
    pub fn new(core: Arc<Core>) -> Self {
        AppState { core }
    }
}
