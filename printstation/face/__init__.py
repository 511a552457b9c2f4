"""The station's faces for people: the web console (``face/web/``, served by
:mod:`printstation.face.console` at ``GET /`` of the control API)."""
