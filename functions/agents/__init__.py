"""Agents: durable runs that plan, execute, self-evaluate and refine within a budget."""
