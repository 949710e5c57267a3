/**
 * CodeMirror 6 with TypeScript highlighting: the function editor. A lazy chunk (React.lazy), so
 * only the Functions page pays for it. It lives in a shadow root: there CodeMirror styles itself
 * with constructed style sheets, which the console's CSP (no inline style) allows; in the document
 * it would add <style> elements, which the browser refuses, leaving the editor unstyled.
 */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { useEffect, useRef } from 'react';

/** Colours from the console's custom properties: readable in light and dark alike (CodeMirror's default style is for light). */
const highlight = HighlightStyle.define([
  { tag: [tags.keyword, tags.modifier, tags.operatorKeyword], color: 'var(--code-key)' },
  { tag: [tags.string, tags.special(tags.string), tags.regexp], color: 'var(--code-string)' },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: 'var(--code-literal)' },
  { tag: [tags.typeName, tags.className], color: 'var(--code-literal)' },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: 'var(--code-comment)', fontStyle: 'italic' },
]);

/** The frame, in the theme's colours (the console's stylesheet does not reach into the shadow root; custom properties do). */
const frame = EditorView.theme({
  // The editor scrolls itself (its scroller holds the focusable content, as keyboard users need).
  '&': { minHeight: '16rem', maxHeight: '36rem', color: 'var(--text)' },
  '.cm-gutters': { background: 'var(--panel-2)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine, .cm-activeLineGutter': { background: 'color-mix(in srgb, var(--run-bg) 50%, transparent)' },
});

export default function CodeEditor({ value, onChange, label }: { value: string; onChange: (value: string) => void; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>(undefined);
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    if (!host.current) return;
    const root = host.current.shadowRoot ?? host.current.attachShadow({ mode: 'open' });
    view.current = new EditorView({
      root,
      parent: root,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          frame,
          syntaxHighlighting(highlight),
          javascript({ typescript: true }),
          // Tab indents; Escape then Tab leaves the editor (CodeMirror's keyboard escape hatch).
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          // tabindex: editable content is in the tab order anyway; said outright, checkers see the scroller holds a focusable element.
          EditorView.contentAttributes.of({ 'aria-label': label, tabindex: '0' }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) changed.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.current?.destroy();
    // Made once per label: later `value`s from outside are dispatched by the effect below.
  }, [label]);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div className="editor" ref={host} />;
}
