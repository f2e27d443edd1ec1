"""ROS 2 plumbing: message conversion and thin rclpy nodes that call the core (no science here)."""
