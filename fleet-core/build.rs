//! `sqlx::migrate!` embeds `migrations/` at compile time but does not tell cargo to watch it:
//! without this, a new migration file is left out until some source file changes.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
