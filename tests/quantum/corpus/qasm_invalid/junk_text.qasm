Dear colleague,
please find attached the circuit we discussed.
Best regards
