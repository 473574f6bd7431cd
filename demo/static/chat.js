// The demo chat's page: ES5 like fallback.js, so it runs wherever the shim does.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var sock = null;

  function text(el, value) {
    if ("textContent" in el) { el.textContent = value; } else { el.innerText = value; }
    return el;
  }
  function element(tag, className, value) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (value != null) { text(el, value); }
    return el;
  }
  function badge(transport) { return element("span", "badge t-" + transport, transport); }

  function show(kind, nick, value) {
    var item = element("li", kind), list = $("messages");
    if (nick) { item.appendChild(element("b", "nick", nick)); }
    item.appendChild(element("span", "text", value));
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function showUsers(users) {
    var list = $("users");
    list.innerHTML = "";
    for (var i = 0; i < users.length; i++) {
      var item = element("li", "user");
      item.appendChild(element("span", "nick", users[i].nick));
      item.appendChild(badge(users[i].transport));
      list.appendChild(item);
    }
  }

  function status(value, className) {
    var el = $("status");
    el.className = "status " + (className || "");
    text(el, value);
  }

  function join(nick, room, transport) {
    var options = transport ? { transports: [transport] } : {};
    status("connecting" + (transport ? " over " + transport : "") + "...");
    sock = new FallbackSocket(CHAT_URL, options);
    sock.onopen = function () {
      status("connected over " + sock.transport, "ok");
      sock.send(JSON.stringify({ type: "join", nick: nick, room: room }));
    };
    // Resume: the transport dropped and the connection carried on, nothing lost.
    sock.addEventListener("resume", function () {
      show("notice resumed", null, "connection dropped and resumed over " + sock.transport + ": nothing was lost");
      status("connected over " + sock.transport + " (resumed)", "ok");
    });
    // A server restart: a new connection, to another server, and the room again.
    sock.addEventListener("reconnect", function () {
      show("notice resumed", null, "the server restarted: reconnected over " + sock.transport);
      status("connected over " + sock.transport, "ok");
      sock.send(JSON.stringify({ type: "join", nick: nick, room: room }));
    });
    sock.onmessage = function (e) {
      var m = JSON.parse(e.data);
      if (m.type == "welcome") {
        $("join").hidden = true;
        $("intro").hidden = true;
        $("chat").hidden = false;
        text($("room-title"), "#" + m.room + " - you are " + m.nick);
        document.title = m.nick + " in #" + m.room;
        $("text").focus();
      } else if (m.type == "users") {
        showUsers(m.users);
      } else if (m.type == "joined") {
        show("notice", null, m.nick + " joined over " + m.transport);
      } else if (m.type == "left") {
        show("notice", null, m.nick + " left");
      } else if (m.type == "said") {
        show("said", m.nick, m.text);
      } else if (m.type == "error") {
        show("error", null, m.text);
      }
    };
    sock.onclose = function (e) {
      status("disconnected (" + e.code + (e.reason ? " " + e.reason : "") + ")", "bad");
      show("notice", null, "disconnected");
      $("join").hidden = false;
      $("intro").hidden = false;
      sock = null;
    };
  }

  // Only what this browser can use (no Flash without the plugin, no htmlfile cross-origin...).
  var select = $("transport"), names = FallbackSocket.usable(CHAT_URL);
  for (var i = 0; i < names.length; i++) {
    var option = element("option", null, names[i]);
    option.value = names[i];
    select.appendChild(option);
  }
  select.value = select.getAttribute("data-selected") || "";

  $("join").onsubmit = function (e) {
    if (e && e.preventDefault) { e.preventDefault(); }
    if (!sock) { join($("nick").value, $("room").value || "lobby", select.value); }
    return false;
  };
  $("say").onsubmit = function (e) {
    if (e && e.preventDefault) { e.preventDefault(); }
    var input = $("text");
    if (sock && sock.readyState == FallbackSocket.OPEN && input.value) {
      sock.send(JSON.stringify({ type: "say", text: input.value }));
      input.value = "";
    }
    return false;
  };
  window.chat = {
    say: function (value) { sock.send(JSON.stringify({ type: "say", text: value })); },
    socket: function () { return sock; }
  };
  if ($("nick").value) { $("join").onsubmit(); }
})();
