"""The 1022 customer-care calls: operators (or automated calls) call back a random sample of the citizens whose
administrative dossiers were handled, and the answers become each unit's satisfaction figures.

dossiers (the sample frame imported from the one-stop system), privacy (masking, retention, do-not-call, who
opened a number), sampling and samples (sizes by Yamane or Cochran, stratified draws), dispositions (AAPOR's
final codes and their retry rules), questionnaire (versioned, SIPAS's five elements by default), cases (each
sampled citizen's case and its calls), queue (the rules of the operator's next case), calling_hours (when a
citizen may be called), operator (the operator's work: next case, record a call), answers, results (rates and
satisfaction per unit, level and period)."""
