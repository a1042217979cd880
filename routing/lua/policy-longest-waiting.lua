-- Policy longest-waiting: the advisor with the lowest load ratio (held /
-- capacity), ties to the one whose last assignment is oldest (never
-- assigned is oldest), then by name.
local function better(a, b)
  local l, r = a.load * b.cap, b.load * a.cap -- compare ratios without division
  if l ~= r then return l < r end
  if a.last ~= b.last then return a.last < b.last end
  return a.name < b.name
end
