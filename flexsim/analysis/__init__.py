"""From simulated runs to answers: statistics, sizing, comparing plans, Flex or subscription."""
