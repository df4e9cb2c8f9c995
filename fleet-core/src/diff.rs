//! Differences between two configuration texts: unified text diff plus a structural summary.
