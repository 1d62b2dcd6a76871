"""What people and scripts read: files, terminal text, the HTML report and its charts."""
