//! Tokens -> the statement/block tree, with brace diagnostics.
//!
//! ```text
//! body      = statement*
//! statement = word+ block? | block            ; a statement ends at a line break, '{' or '}'
//! block     = '{' body '}'                    ; '{' may sit on the header's line or a later one
//! ```
//! Recovery: a `}` with no open block is kept as a statement of its own and reported; blocks
//! still open at the end of input are closed implicitly (no `}` is invented) and reported at
//! their `{`.

use haproxy_model::keepalived::{Block, Document, Statement, Word};
use haproxy_model::Diagnostic;

use super::lexer::{Token, TokenKind};

/// A block being read: its header statement (the brace not yet attached) and its body so far.
struct Frame {
    header: Statement,
    open: Word,
    body: Vec<Statement>,
}

/// The body being filled and whether its last statement still takes words.
struct Builder {
    frames: Vec<Frame>,
    root: Vec<Statement>,
    statement_open: bool,
}

impl Builder {
    fn body(&mut self) -> &mut Vec<Statement> {
        match self.frames.last_mut() {
            Some(frame) => &mut frame.body,
            None => &mut self.root,
        }
    }

    fn word(&mut self, word: Word, ends_line: bool) {
        let open = self.statement_open;
        let body = self.body();
        match body.last_mut() {
            Some(last) if open => last.words_mut().push(word),
            _ => body.push(Statement::new(vec![word], None)),
        }
        self.statement_open = !ends_line;
    }

    fn open(&mut self, brace: Word) {
        let body = self.body();
        // The brace belongs to the statement just before it, unless that one already has a
        // block (or there is none): then it opens an anonymous block.
        let header = match body.last() {
            Some(last) if last.block().is_none() && !last.words().is_empty() && !is_stray_close(last) => {
                body.pop().unwrap_or_default()
            }
            _ => Statement::default(),
        };
        self.frames.push(Frame { header, open: brace, body: Vec::new() });
        self.statement_open = false;
    }

    fn close(&mut self, brace: Word, diagnostics: &mut Vec<Diagnostic>) {
        self.statement_open = false;
        match self.frames.pop() {
            Some(frame) => {
                let mut header = frame.header;
                header.set_block(Some(Block::new(frame.open, frame.body, Some(brace))));
                self.body().push(header);
            }
            None => {
                diagnostics.push(Diagnostic::error(brace.position(), "unbalanced braces: '}' without a matching '{'"));
                self.root.push(Statement::new(vec![brace], None));
            }
        }
    }

    fn finish(mut self, diagnostics: &mut Vec<Diagnostic>) -> Vec<Statement> {
        while let Some(frame) = self.frames.pop() {
            diagnostics.push(Diagnostic::error(frame.open.position(), "unbalanced braces: '{' is never closed"));
            let mut header = frame.header;
            header.set_block(Some(Block::new(frame.open, frame.body, None)));
            self.body().push(header);
        }
        self.root
    }
}

/// A statement that is only a stray `}`.
fn is_stray_close(statement: &Statement) -> bool {
    matches!(statement.words(), [only] if only.raw() == "}")
}

/// Builds the document from the lexer's output.
pub(crate) fn build(lead: String, tokens: Vec<Token>, diagnostics: &mut Vec<Diagnostic>) -> Document {
    let mut builder = Builder { frames: Vec::new(), root: Vec::new(), statement_open: false };
    for token in tokens {
        match token.kind {
            TokenKind::Word => builder.word(token.word, token.ends_line),
            TokenKind::Open => builder.open(token.word),
            TokenKind::Close => builder.close(token.word, diagnostics),
        }
    }
    let statements = builder.finish(diagnostics);
    Document::from_parts(lead, statements)
}
