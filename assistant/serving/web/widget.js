/* ML career assistant: a one-tag chat widget for any site.
 *
 *   <script src="https://assistant.example.org/widget.js" defer></script>
 *
 * Optional attributes on the tag: data-lang="fr|en" (default: the page's <html lang>),
 * data-key="..." (the API key, when the server requires one: visible to every visitor of the page),
 * data-position="left" (default: right).
 *
 * Everything lives in a shadow root, so the host page's CSS cannot reach it and its own styles
 * cannot leak out. Everything the server sends is inserted as text (textContent), never as HTML;
 * links are only ever http(s) URLs from the sources' metadata.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__mlcareerWidget) return;
  window.__mlcareerWidget = true;

  var base = new URL(script.src, document.baseURI);
  var endpoint = new URL("/v1/chat/completions", base).toString();
  var apiKey = script.getAttribute("data-key") || "";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var pageLang = (script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en").toLowerCase();
  var lang = pageLang.indexOf("fr") === 0 ? "fr" : "en";

  var TEXT = {
    fr: {
      open: "Ouvrir l'assistant carrière ML",
      close: "Fermer l'assistant",
      title: "Assistant carrière ML",
      intro: "Posez une question sur le métier d'ingénieur en machine learning : compétences, formation, entretiens, carrière.",
      label: "Votre question",
      placeholder: "Posez votre question…",
      send: "Envoyer",
      stop: "Arrêter",
      sources: "Sources",
      thinking: "Recherche dans les sources…",
      waiting: function (q) { return "En attente du modèle : position " + q.position + ", environ " + Math.round(q.expected_seconds) + " s"; },
      you: "Vous",
      bot: "Assistant",
      stopped: "(réponse interrompue)",
      refused: "Ce site n'est pas autorisé à utiliser l'assistant, ou le serveur est injoignable.",
      failed: "La réponse a échoué : ",
    },
    en: {
      open: "Open the ML career assistant",
      close: "Close the assistant",
      title: "ML career assistant",
      intro: "Ask about the machine-learning-engineer career: skills, education, interviews, growing in the job.",
      label: "Your question",
      placeholder: "Ask your question…",
      send: "Send",
      stop: "Stop",
      sources: "Sources",
      thinking: "Searching the sources…",
      waiting: function (q) { return "Waiting for the model: position " + q.position + ", about " + Math.round(q.expected_seconds) + " s"; },
      you: "You",
      bot: "Assistant",
      stopped: "(answer stopped)",
      refused: "This site may not use the assistant, or the server cannot be reached.",
      failed: "The answer failed: ",
    },
  }[lang];

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; }",
    ".root { position: fixed; bottom: 20px; " + side + ": 20px; z-index: 2147483000; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1e293b; }",
    ".launcher { width: 56px; height: 56px; border-radius: 50%; border: 0; background: #4338ca; color: #fff; cursor: pointer; box-shadow: 0 6px 20px rgba(15,23,42,.3); display: flex; align-items: center; justify-content: center; }",
    ".launcher:focus-visible, button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }",
    ".panel { position: absolute; bottom: 70px; " + side + ": 0; width: min(380px, calc(100vw - 40px)); height: min(560px, calc(100vh - 110px)); background: #fff; border: 1px solid #cbd5e1; border-radius: 14px; box-shadow: 0 12px 40px rgba(15,23,42,.25); display: flex; flex-direction: column; overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    "header { display: flex; align-items: center; justify-content: space-between; padding: 10px 14px; background: #4338ca; color: #fff; }",
    "h2 { margin: 0; font-size: 16px; font-weight: 700; }",
    ".close { background: transparent; border: 0; color: #fff; font-size: 22px; cursor: pointer; line-height: 1; padding: 2px 6px; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px 14px; display: flex; flex-direction: column; gap: 10px; }",
    ".intro { color: #475569; font-size: 14px; margin: 0; }",
    ".msg { max-width: 92%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".user { align-self: flex-end; background: #e0e7ff; }",
    ".bot { align-self: flex-start; background: #f1f5f9; }",
    ".who { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }",
    ".notice { font-size: 13px; color: #92400e; background: #fef3c7; border-radius: 8px; padding: 4px 8px; margin-bottom: 6px; }",
    ".error { color: #991b1b; }",
    ".sources { margin: 6px 0 0; padding: 0; list-style: none; display: flex; flex-direction: column; gap: 4px; white-space: normal; }",
    ".sources-title { font-size: 12px; font-weight: 700; color: #475569; margin-top: 6px; }",
    ".card { font-size: 13px; background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 4px 8px; }",
    ".card a { color: #3730a3; }",
    ".num { font-weight: 700; margin-right: 4px; }",
    "form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e2e8f0; }",
    "label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }",
    "textarea { flex: 1; resize: none; height: 44px; padding: 8px; border: 1px solid #94a3b8; border-radius: 8px; font: inherit; color: inherit; }",
    ".send { border: 0; border-radius: 8px; padding: 0 14px; background: #4338ca; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }",
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeUrl(value) {
    try {
      var url = new URL(String(value));
      return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : null;
    } catch (e) {
      return null;
    }
  }

  var host = el("div", { "data-mlcareer-widget": "" });
  var shadow = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = CSS;
  var root = el("div", { class: "root", lang: lang });
  var launcher = el("button", { class: "launcher", id: "mlc-launcher", type: "button", "aria-expanded": "false", "aria-controls": "mlc-panel", "aria-label": TEXT.open });
  // A speech-bubble icon drawn with SVG (an emoji would need a font the visitor may not have).
  var svgNs = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(svgNs, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "26");
  icon.setAttribute("height", "26");
  icon.setAttribute("aria-hidden", "true");
  var bubblePath = document.createElementNS(svgNs, "path");
  bubblePath.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  bubblePath.setAttribute("fill", "currentColor");
  icon.append(bubblePath);
  launcher.append(icon);
  var panel = el("div", { class: "panel", id: "mlc-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "mlc-title", hidden: "" });
  var header = el("header");
  var title = el("h2", { id: "mlc-title" }, TEXT.title);
  var close = el("button", { class: "close", type: "button", "aria-label": TEXT.close }, "×");
  header.append(title, close);
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions text" });
  log.append(el("p", { class: "intro" }, TEXT.intro));
  var form = el("form");
  var label = el("label", { for: "mlc-input" }, TEXT.label);
  var input = el("textarea", { id: "mlc-input", rows: "1", placeholder: TEXT.placeholder, maxlength: "2000" });
  var send = el("button", { class: "send", type: "submit" }, TEXT.send);
  form.append(label, input, send);
  panel.append(header, log, form);
  root.append(panel, launcher);
  shadow.append(style, root);

  var history = [];
  var controller = null;

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? TEXT.close : TEXT.open);
    if (open) input.focus();
    else launcher.focus();
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) setOpen(false);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  function bubble(kind, who) {
    var node = el("div", { class: "msg " + kind });
    node.append(el("span", { class: "who" }, who + " : "));
    var body = el("span", { class: "body" });
    node.append(body);
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return { node: node, body: body };
  }

  function showSources(node, sources) {
    if (!sources || !sources.length) return;
    node.append(el("div", { class: "sources-title" }, TEXT.sources));
    var list = el("ol", { class: "sources" });
    sources.forEach(function (s) {
      var item = el("li", { class: "card" });
      item.append(el("span", { class: "num" }, "[" + s.n + "]"));
      var label = String(s.title || "") + (s.section ? " · " + s.section : "");
      var href = s.url ? safeUrl(s.url) : null;
      if (href) {
        var link = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, label);
        item.append(link);
      } else {
        item.append(document.createTextNode(label));
      }
      if (s.lang) item.append(el("span", { lang: "" }, " (" + s.lang + ")"));
      list.append(item);
    });
    node.append(list);
  }

  function setBusy(busy) {
    send.textContent = busy ? TEXT.stop : TEXT.send;
    send.setAttribute("type", busy ? "button" : "submit");
  }

  send.addEventListener("click", function (event) {
    if (controller) {
      event.preventDefault();
      controller.abort();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || controller) return;
    input.value = "";
    bubble("user", TEXT.you).body.textContent = question;
    var reply = bubble("bot", TEXT.bot);
    reply.body.textContent = TEXT.thinking;
    var messages = history.concat([{ role: "user", content: question }]);
    controller = new AbortController();
    setBusy(true);
    var headers = { "Content-Type": "application/json" };
    if (apiKey) headers["Authorization"] = "Bearer " + apiKey;
    var answer = "";
    var started = false;

    function append(text) {
      if (!started) { reply.body.textContent = ""; started = true; }
      answer += text;
      reply.body.textContent = answer;
      log.scrollTop = log.scrollHeight;
    }

    function handle(payload) {
      if (payload.error) throw new Error(payload.error.message || "error");
      var choice = payload.choices && payload.choices[0];
      if (choice && choice.delta && choice.delta.content) append(choice.delta.content);
      if (payload.queue) {
        if (!reply.status) {
          reply.status = el("div", { class: "notice", role: "status" });
          reply.node.append(reply.status);
        }
        reply.status.textContent = TEXT.waiting(payload.queue);
      } else if (reply.status && choice && (choice.delta.content || choice.finish_reason)) {
        reply.status.remove();
        reply.status = null;
      }
      if (payload.notice) reply.node.insertBefore(el("div", { class: "notice", role: "status" }, String(payload.notice)), reply.body);
      if (choice && choice.finish_reason) showSources(reply.node, payload.sources);
    }

    fetch(endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ model: "mlcareer-assistant", stream: true, messages: messages }),
      signal: controller.signal,
    })
      .then(function (response) {
        if (!response.ok || !response.body) {
          return response.json().then(
            function (body) { throw new Error((body && body.error && body.error.message) || response.status); },
            function () { throw new Error(String(response.status)); }
          );
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) return;
            buffer += decoder.decode(step.value, { stream: true });
            var events = buffer.split("\n\n");
            buffer = events.pop();
            events.forEach(function (block) {
              block.split("\n").forEach(function (line) {
                if (line.indexOf("data: ") !== 0) return;
                var data = line.slice(6);
                if (data === "[DONE]") return;
                handle(JSON.parse(data));
              });
            });
            return pump();
          });
        }
        return pump();
      })
      .then(function () {
        history = messages.concat([{ role: "assistant", content: answer }]).slice(-12);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          append((answer ? "\n" : "") + TEXT.stopped);
          return;
        }
        reply.body.classList.add("error");
        reply.body.textContent = error instanceof TypeError ? TEXT.refused : TEXT.failed + String(error.message || error);
      })
      .finally(function () {
        controller = null;
        setBusy(false);
        input.focus();
      });
  });

  function mount() { document.body.append(host); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
