"""The JavaScript the browser tools run in a page (through `Runtime.evaluate`)."""

SNAPSHOT_JS = """(maxChars) => {
  const text = (document.body ? document.body.innerText : '') || '';
  return {url: location.href, title: document.title, text: text.slice(0, maxChars),
          text_truncated: text.length > maxChars};
}"""
# What click and type do to the element they found (`mode`: 'click', or for type whether to
# empty the field first).
ACT_JS = """(el, mode) => {
  if (!el || el.nodeType !== 1) return {error: 'not an element'};
  el.scrollIntoView({block: 'center', inline: 'center'});
  if (el.focus) el.focus();
  if (mode === true && 'value' in el) {
    el.value = '';
    el.dispatchEvent(new Event('input', {bubbles: true}));
  }
  if (mode === 'click') el.click();
  return {tag: el.tagName.toLowerCase()};
}"""
FIND_JS = (
    """(selector, mode) => {
  let el;
  try { el = document.querySelector(selector); } catch (e) { return {invalid: String(e.message || e)}; }
  if (!el) return null;
  return ("""
    + ACT_JS
    + """)(el, mode);
}"""
)
CONTENT_JS = """(maxChars) => {
  const text = (document.body ? document.body.innerText : '') || '';
  const html = document.documentElement ? document.documentElement.outerHTML : '';
  return {url: location.href, title: document.title, text: text.slice(0, maxChars),
          html: html.slice(0, maxChars), truncated: text.length > maxChars || html.length > maxChars};
}"""
