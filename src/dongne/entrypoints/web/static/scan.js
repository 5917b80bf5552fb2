// Paying by the shop's QR: show the camera and send a frame to the server about twice a
// second until it reads a shop's code, then open the pay form it names. The server decodes
// (zxing-cpp), so nothing here reads QR codes. Without this script, or without a camera the
// page may use, the photo form below the camera does the same with one picture.
"use strict";
(function () {
  var scanner = document.getElementById("scanner");
  var form = document.getElementById("photo-form");
  if (!scanner || !form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var FRAME_EVERY_MS = 500;
  var FRAME_WIDTH_MAX = 640; // enough pixels for a QR held at arm's length; small to send
  var video = document.getElementById("camera");
  var status = document.getElementById("scan-status");
  var problem = document.getElementById("scan-error");
  var canvas = document.createElement("canvas");
  var sending = false;
  var done = false;
  var timer = null;

  scanner.hidden = false;
  status.textContent = scanner.dataset.starting;

  function say(message) {
    problem.textContent = message || "";
    problem.hidden = !message;
  }

  function stop() {
    done = true;
    window.clearInterval(timer);
    if (video.srcObject) {
      video.srcObject.getTracks().forEach(function (track) { track.stop(); });
    }
  }

  function answer(reply) {
    if (reply.next) {
      stop();
      status.textContent = scanner.dataset.found;
      window.location.assign(reply.next);
      return;
    }
    say(reply.message);
  }

  function send(blob) {
    if (!blob) { sending = false; return; }
    var body = new FormData();
    body.append("csrf_token", form.elements.csrf_token.value);
    body.append("frame", blob, "frame.jpg");
    fetch(scanner.dataset.action, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(answer)
      .catch(function () { /* a lost frame: the next one is on its way */ })
      .then(function () { sending = false; });
  }

  function grab() {
    if (sending || done || !video.videoWidth) { return; }
    var scale = Math.min(1, FRAME_WIDTH_MAX / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    sending = true;
    canvas.toBlob(send, "image/jpeg", 0.85);
  }

  navigator.mediaDevices
    .getUserMedia({ video: { facingMode: "environment" }, audio: false })
    .then(function (stream) {
      video.srcObject = stream;
      return video.play();
    })
    .then(function () {
      status.textContent = scanner.dataset.looking;
      timer = window.setInterval(grab, FRAME_EVERY_MS);
    })
    .catch(function () {
      status.textContent = scanner.dataset.noCamera;
      video.hidden = true;
    });
  window.addEventListener("pagehide", stop);
})();
