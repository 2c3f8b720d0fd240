// The chat's copy buttons copy a message's raw content; for answers (our HTML) copy readable text
// instead: the answer, then its numbered sources. Parsing happens in an inert DOMParser document.
(() => {
  const MARK = 'class="mlc-answer"';

  const blockText = (root) => {
    const clone = root.cloneNode(true);
    clone.querySelectorAll("li").forEach((li) => li.prepend("- "));
    clone.querySelectorAll("p, li, br, pre, h1, h2, h3, h4, tr").forEach((el) => el.append("\n"));
    const lines = clone.textContent.split("\n").map((line) => line.replace(/\s+/g, " ").trim());
    return lines.join("\n").replace(/\n{3,}/g, "\n\n").trim();
  };

  const answerText = (answer) => {
    const parts = [];
    const notice = answer.querySelector(".mlc-notice");
    if (notice) parts.push(notice.textContent.trim());
    const body = answer.querySelector(".mlc-body");
    if (body) parts.push(blockText(body));
    const cards = [...answer.querySelectorAll(".mlc-card")];
    if (cards.length) {
      const lines = cards.map((card) => {
        const n = card.querySelector(".mlc-n")?.textContent ?? "";
        const title = card.querySelector(".mlc-card-title")?.textContent ?? "";
        const section = card.querySelector(".mlc-section")?.textContent;
        const link = card.querySelector("a.mlc-link")?.getAttribute("href");
        const path = card.querySelector(".mlc-path")?.textContent;
        return `[${n}] ${title}${section ? " › " + section : ""} (${link || path || ""})`;
      });
      parts.push(answer.querySelector(".mlc-sources-title")?.textContent + "\n" + lines.join("\n"));
    }
    return parts.join("\n\n");
  };

  const plain = (raw) => {
    if (typeof raw !== "string" || !raw.includes(MARK)) return raw;
    const doc = new DOMParser().parseFromString(raw, "text/html");
    return [...doc.body.childNodes]
      .map((node) => (node.nodeType === 1 && node.classList.contains("mlc-answer") ? answerText(node) : node.textContent))
      .join("");
  };
  window.mlcPlainText = plain;

  if (navigator.clipboard && navigator.clipboard.writeText) {
    const original = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => original(plain(text));
  }
  // Without the async clipboard (plain http on another host) Gradio copies through a textarea.
  document.addEventListener(
    "copy",
    (event) => {
      const target = event.target;
      if (target && target.tagName === "TEXTAREA" && target.value.includes(MARK)) {
        event.clipboardData.setData("text/plain", plain(target.value));
        event.preventDefault();
      }
    },
    true,
  );

  // Messages carry their raw content in aria-label; screen readers should hear the text, not tags.
  const relabel = (el) => {
    const label = el.getAttribute("aria-label");
    if (label && label.includes(MARK)) {
      const cut = label.indexOf("<");
      el.setAttribute("aria-label", label.slice(0, cut) + plain(label.slice(cut)));
    }
  };
  const watch = () =>
    new MutationObserver((records) => {
      for (const record of records) {
        if (record.type === "attributes") relabel(record.target);
        else
          record.addedNodes.forEach((node) => {
            if (node.nodeType !== 1) return;
            relabel(node);
            node.querySelectorAll("[aria-label]").forEach(relabel);
          });
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });
  if (document.body) watch();
  else document.addEventListener("DOMContentLoaded", watch);
})();
