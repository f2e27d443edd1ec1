"""``disac view``: the live graph or a bag as a Rerun recording, for the browser.

:mod:`~disac_ros.view.maps` computes (radar maps, camera poses, projections), :mod:`~disac_ros.view.recording`
turns deserialized messages into Rerun log calls and reads bags, :mod:`~disac_ros.view.live` subscribes to the live
graph, :mod:`~disac_ros.view.serve` serves the web viewer on the loopback address and screenshots it in headless
Chromium. Rerun (``requirements-view.txt``) is an optional extra: nothing outside this package imports it.
"""
