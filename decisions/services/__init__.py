"""State changes in `decisions`. Import the service functions from their modules."""
